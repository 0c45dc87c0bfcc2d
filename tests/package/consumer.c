/*
 * A program outside the project that uses the INSTALLED libqsjwt through its
 * public header only: it signs the QSEoW token of
 * tests/data/vectors/all-claims.cmd with a PEM key file and prints it.
 *
 * Usage: consumer KEY.pem IAT EXP
 * With tests/data/vectors/privatekey.pem, IAT 1893456000 and EXP 1893459600
 * the output is tests/data/vectors/all-claims.jwt, byte for byte.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qsjwt/qsjwt.h>

#define MAX_KEY (1024 * 1024)

static int parse_time(const char *text, int64_t *out)
{
	char *end;
	intmax_t v;

	errno = 0;
	v = strtoimax(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < 0 || v > QSJWT_MAX_TIME)
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* The whole file, NUL-terminated; the caller wipes and frees it. */
static char *read_file(const char *path, size_t *len_out)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t len;

	if (fp == NULL) {
		fprintf(stderr, "consumer: cannot open '%s': %s\n", path, strerror(errno));
		return NULL;
	}
	buf = malloc(MAX_KEY + 1);
	if (buf == NULL) {
		fclose(fp);
		return NULL;
	}
	len = fread(buf, 1, MAX_KEY + 1, fp);
	if (ferror(fp) || len > MAX_KEY) {
		fprintf(stderr, "consumer: cannot read '%s'\n", path);
		qsjwt_secret_wipe(buf, MAX_KEY + 1);
		free(buf);
		fclose(fp);
		return NULL;
	}
	fclose(fp);
	buf[len] = '\0';
	*len_out = len;
	return buf;
}

int main(int argc, char **argv)
{
	static const char *const groups[] = {"Sales", "Finance"};
	qsjwt_qseow_claims claims = {
	    .user_id = "jdoe",
	    .user_directory = "ACME",
	    .name = "John Doe",
	    .email = "john.doe@example.com",
	    .groups = groups,
	    .n_groups = 2,
	    .audience = "qlik-aud",
	};
	qsjwt_signer *signer = NULL;
	char *pem = NULL, *payload = NULL, *token = NULL;
	size_t pem_len = 0, payload_len = 0;
	qsjwt_err err;
	int rc = 1;

	if (argc != 4 || parse_time(argv[2], &claims.iat) != 0 ||
	    parse_time(argv[3], &claims.exp) != 0) {
		fprintf(stderr, "usage: consumer KEY.pem IAT EXP\n");
		return 2;
	}
	qsjwt_log_set_level(QSJWT_LOG_WARN);
	pem = read_file(argv[1], &pem_len);
	if (pem == NULL)
		goto out;
	err = qsjwt_signer_from_pem(pem, pem_len, "key file", NULL, NULL, &signer);
	if (err != QSJWT_OK) {
		fprintf(stderr, "consumer: qsjwt_signer_from_pem: %s\n", qsjwt_err_str(err));
		goto out;
	}
	err = qsjwt_qseow_payload(&claims, &payload, &payload_len);
	if (err != QSJWT_OK) {
		fprintf(stderr, "consumer: qsjwt_qseow_payload: %s\n", qsjwt_err_str(err));
		goto out;
	}
	err = qsjwt_jwt_sign(signer, QSJWT_RS256, payload, payload_len, &token);
	if (err != QSJWT_OK) {
		fprintf(stderr, "consumer: qsjwt_jwt_sign: %s\n", qsjwt_err_str(err));
		goto out;
	}
	if (printf("%s\n", token) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "consumer: cannot write standard output\n");
		goto out;
	}
	rc = 0;
out:
	qsjwt_secret_free(token);
	free(payload);
	qsjwt_signer_free(signer);
	if (pem != NULL) {
		qsjwt_secret_wipe(pem, pem_len);
		free(pem);
	}
	return rc;
}
