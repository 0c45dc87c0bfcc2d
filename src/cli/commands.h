/* The commands of qs-jwt: each takes the arguments after its name and
 * returns the exit code. */
#ifndef QSJWT_COMMANDS_H
#define QSJWT_COMMANDS_H

int cmd_create_qseow(int argc, char **argv);
int cmd_pkcs11(int argc, char **argv);
int cmd_pkcs11_create_cert(int argc, char **argv);
int cmd_create_qscloud(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif
