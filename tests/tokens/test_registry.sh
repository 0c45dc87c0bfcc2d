#!/usr/bin/env bash
# The p11-kit registry with a module that cannot work here: tpm2-pkcs11
# registered (in a private mount namespace only: a tmpfs over
# /usr/share/p11-kit/modules holding just it and SoftHSM2) with no TPM
# reachable. Searching the registry must give the same result as without it;
# a module named by path or by module-name= is the only one initialised; and
# p11-kit's own disable-in keeps a module out of qs-jwt.
if [ -z "${QSJWT_REG_NS:-}" ]; then
	if [ "$(id -u)" != 0 ] || ! unshare -m --propagation private true 2>/dev/null; then
		echo "test_registry: SKIPPED: cannot make a private mount namespace (unshare -m, as root) to register modules without touching the machine"
		exit 77
	fi
	QSJWT_REG_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

tokens_fetch
TPM_MODULE=$QSJWT_TOKENS_DIR/libtpm2-pkcs11-1/usr/lib/x86_64-linux-gnu/libtpm2_pkcs11.so.1
[ -e "$TPM_MODULE" ] || skip "tpm2-pkcs11 module not found: $TPM_MODULE"
REG=/usr/share/p11-kit/modules
mount -t tmpfs -o mode=0755 tmpfs "$REG" || skip "cannot mount a tmpfs over $REG in the private namespace"
# /etc under an overlay, so that /etc/pkcs11 can be written here only; its
# modules directory and global file start empty.
mkdir -p "$T_TMP/etc.up" "$T_TMP/etc.work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$T_TMP/etc.up,workdir=$T_TMP/etc.work" /etc ||
	skip "cannot lay an overlay on /etc in the private namespace"
mkdir -p /etc/pkcs11/modules
mount -t tmpfs -o mode=0755 tmpfs /etc/pkcs11/modules || skip "cannot hide /etc/pkcs11/modules"
rm -f /etc/pkcs11/pkcs11.conf
printf 'module: %s\n' "$SOFTHSM_MODULE" >"$REG/softhsm2.module"
printf 'module: %s\n' "$TPM_MODULE" >"$REG/tpm2_pkcs11.module"
# No TPM: a port nothing listens on; a store of its own.
port=$(free_port_pair)
export TPM2_PKCS11_TCTI="swtpm:host=127.0.0.1,port=$port" TPM2_PKCS11_STORE=$T_TMP/tpm2-store
mkdir -p "$TPM2_PKCS11_STORE"

PIN=8642-reg
hsm_new reg qlik "$PIN"
hsm_keygen jwt 01
PUBK=$(hsm_pubkey 01)
URI='pkcs11:token=qlik;object=jwt'

begin "the registry with tpm2-pkcs11 and no TPM: list-tokens still lists the SoftHSM2 token, exit 0"
# tpm2-pkcs11 1.9 leaks when its C_Initialize fails.
module_leaks_env
qsp11 list-tokens
assert_rc 0
assert_contains "$OUT" "token: qlik"
# tpm2-pkcs11 was loaded and failed (its own lines on stderr, which qs-jwt
# cannot keep it from printing): the result is the same.
assert_contains "$ERR" "Failed to instantiate TCTI"
assert_not_contains "$OUT" "module: tpm2_pkcs11"

begin "the registry with tpm2-pkcs11 and no TPM: a token key signs, openssl verifies"
module_leaks_env
qs "${CLAIMS[@]}" --pkcs11-uri "$URI" --pkcs11-pin-file "$HSM_DIR/pin"
assert_ok_token
verify_jwt "$TOKEN" "$PUBK"

begin "--pkcs11-module: that module alone; tpm2-pkcs11 is never initialised (no TCTI errors)"
qs "${CLAIMS[@]}" --pkcs11-module "$SOFTHSM_MODULE" --pkcs11-uri "$URI" --pkcs11-pin-file "$HSM_DIR/pin"
assert_ok_token
assert_not_contains "$ERR" "tcti"
assert_not_contains "$ERR" "ERROR:"

begin "module-name=softhsm2: only that module is initialised; the printed URI keeps module-name="
qsp11 list-keys --pkcs11-uri 'pkcs11:token=qlik?module-name=softhsm2' --pkcs11-pin-file "$HSM_DIR/pin"
assert_rc 0
assert_not_contains "$ERR" "tcti"
assert_contains "$OUT" ";object=jwt;type=private?module-name=softhsm2"

# ---- module-name=: that module alone, found in p11-kit's files -------------------------------
# ld_loaded: the libraries the last run opened (LD_DEBUG=files, its pids).
LDLOG=$T_TMP/ld
ld_env() { rm -f "$LDLOG".*; RUN_ENV+=("LD_DEBUG=files" "LD_DEBUG_OUTPUT=$LDLOG"); }
ld_loaded() { cat "$LDLOG".* 2>/dev/null | sed -n 's/^ *[0-9]*:[[:space:]]*file=\([^ ]*\) .*/\1/p' | sort -u; }
# p11-kit's own answer: the module file it registers under a name.
p11kit_module() { p11-kit list-modules 2>/dev/null | sed -n "s/^$1: //p"; }

begin "module-name=softhsm2: SoftHSM2 alone is loaded, tpm2-pkcs11 is not even opened; the token verifies"
ld_env
qs "${CLAIMS[@]}" --pkcs11-uri 'pkcs11:token=qlik;object=jwt?module-name=softhsm2' \
	--pkcs11-pin-file "$HSM_DIR/pin" --loglevel verbose
assert_ok_token "$PUBK"
assert_contains "$ERR" "PKCS#11 module 'softhsm2' (registered with p11-kit: $SOFTHSM_MODULE), loaded alone"
ld_loaded >"$T_TMP/loaded"
assert_contains "$T_TMP/loaded" "$SOFTHSM_MODULE"
assert_not_contains "$T_TMP/loaded" "libtpm2_pkcs11"
assert_not_contains "$ERR" "tcti"

# A second copy of SoftHSM2 (another file): which one is loaded shows whose
# configuration won.
ALT=$T_TMP/alt/libsofthsm2-alt.so
mkdir -p "$T_TMP/alt"
cp "$SOFTHSM_MODULE" "$ALT"

begin "a module file in /etc/pkcs11/modules overrides the package's, as in p11-kit: its module: is loaded"
printf 'module: %s\n' "$ALT" >/etc/pkcs11/modules/softhsm2.module
assert_eq "$ALT" "$(p11kit_module softhsm2)" "p11-kit list-modules: softhsm2"
ld_env
qsp11 list-tokens --pkcs11-uri 'pkcs11:token=qlik?module-name=softhsm2' --loglevel verbose
assert_rc 0
assert_contains "$OUT" "token: qlik"
assert_contains "$ERR" "(registered with p11-kit: $ALT), loaded alone"
ld_loaded >"$T_TMP/loaded"
assert_contains "$T_TMP/loaded" "$ALT"
assert_not_contains "$T_TMP/loaded" "$SOFTHSM_MODULE"

begin "fields merge across the files: an /etc file without module: takes the package's module:"
printf 'priority: 3\n# no module: here\n' >/etc/pkcs11/modules/softhsm2.module
assert_eq "$SOFTHSM_MODULE" "$(p11kit_module softhsm2)" "p11-kit list-modules: softhsm2"
qsp11 list-tokens --pkcs11-uri 'pkcs11:token=qlik?module-name=softhsm2' --loglevel verbose
assert_rc 0
assert_contains "$ERR" "(registered with p11-kit: $SOFTHSM_MODULE), loaded alone"
rm /etc/pkcs11/modules/softhsm2.module

# Not root: the user's own files. The module is p11-kit's client (no server:
# no token), which only shows which file was loaded.
NB=$(mktemp -d)
# shellcheck disable=SC2016 # expanded at exit
at_exit '[ -n "$NB" ] && rm -rf "$NB"'
CLIENT=$(pkg-config --variable=libdir p11-kit-1)/pkcs11/p11-kit-client.so
cp "$QSJWT_BIN" "$NB/qs-jwt"
cp "$(readlink -f "$CLIENT")" "$NB/client.so"
mkdir -p "$NB/home/.config/pkcs11/modules"
printf 'module: %s\n' "$NB/client.so" >"$NB/home/.config/pkcs11/modules/qsjwt-user.module"
chmod -R a+rX "$NB"
NB_ENV=(env -i "HOME=$NB/home" PATH=/usr/bin:/bin "P11_KIT_SERVER_ADDRESS=unix:path=$NB/none")
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "${NB_ENV[@]}" "$@"; }
run_nobody() { run setpriv --reuid=65534 --regid=65534 --clear-groups "${NB_ENV[@]}" "$NB/qs-jwt" "$@"; }
begin "a relative module: is a file of p11-kit's module directory"
MODDIR=$(pkg-config --variable=p11_module_path p11-kit-1)
mount -t tmpfs -o mode=0755 tmpfs "$MODDIR" || skip "cannot mount a tmpfs over $MODDIR in the private namespace"
cp "$SOFTHSM_MODULE" "$MODDIR/qsjwt-rel.so"
printf 'module: qsjwt-rel.so\n' >"$REG/qsjwt-rel.module"
qsp11 list-tokens --pkcs11-uri 'pkcs11:token=qlik?module-name=qsjwt-rel' --loglevel verbose
assert_rc 0
assert_contains "$OUT" "token: qlik"
assert_contains "$ERR" "(registered with p11-kit: $MODDIR/qsjwt-rel.so), loaded alone"
assert_contains "$OUT" "?module-name=qsjwt-rel"
rm "$REG/qsjwt-rel.module"

begin "as root, ~/.config/pkcs11 is not read (as by p11-kit): module-name= finds the system file"
mkdir -p "$T_TMP/home/.config/pkcs11/modules"
printf 'module: %s\n' "$ALT" >"$T_TMP/home/.config/pkcs11/modules/softhsm2.module"
assert_eq "$SOFTHSM_MODULE" "$(HOME=$T_TMP/home p11kit_module softhsm2)" "p11-kit list-modules as root: softhsm2"
RUN_ENV=("HOME=$T_TMP/home")
qsp11 list-tokens --pkcs11-uri 'pkcs11:token=qlik?module-name=softhsm2' --loglevel verbose
assert_rc 0
assert_contains "$ERR" "(registered with p11-kit: $SOFTHSM_MODULE), loaded alone"

# Not root (the program and module copied above, before a tmpfs covered
# p11-kit's module directory).
if ! command -v setpriv >/dev/null || ! as_nobody true 2>/dev/null; then
	echo "   (setpriv cannot run as nobody here: the user-configuration cases are not run)"
else
	begin "not root: a module file in ~/.config/pkcs11/modules is found by module-name=, as by p11-kit"
	assert_eq "$NB/client.so" "$(as_nobody p11-kit list-modules 2>/dev/null | sed -n 's/^qsjwt-user: //p')" "p11-kit list-modules as nobody"
	run_nobody pkcs11 list-tokens --pkcs11-uri 'pkcs11:?module-name=qsjwt-user' --loglevel verbose
	assert_rc 0
	assert_contains "$ERR" "PKCS#11 module 'qsjwt-user' (registered with p11-kit: $NB/client.so), loaded alone"

	begin "not root, user-config: none in /etc/pkcs11/pkcs11.conf: the user's file is not read (exit 4)"
	printf 'user-config: none\n' >/etc/pkcs11/pkcs11.conf
	run_nobody pkcs11 list-tokens --pkcs11-uri 'pkcs11:?module-name=qsjwt-user'
	assert_fails 4 "no PKCS#11 module named 'qsjwt-user' is registered with p11-kit (see 'p11-kit list-modules')"

	begin "not root, user-config: only in the user's pkcs11.conf: the system's files are not read (exit 4)"
	rm /etc/pkcs11/pkcs11.conf
	printf 'user-config: only\n' >"$NB/home/.config/pkcs11/pkcs11.conf"
	assert_eq "" "$(as_nobody p11-kit list-modules 2>/dev/null | sed -n 's/^softhsm2: //p')" "p11-kit list-modules as nobody: softhsm2"
	run_nobody pkcs11 list-tokens --pkcs11-uri 'pkcs11:?module-name=softhsm2'
	assert_fails 4 "no PKCS#11 module named 'softhsm2' is registered with p11-kit (see 'p11-kit list-modules')"
	run_nobody pkcs11 list-tokens --pkcs11-uri 'pkcs11:?module-name=qsjwt-user' --loglevel verbose
	assert_rc 0
	assert_contains "$ERR" "(registered with p11-kit: $NB/client.so), loaded alone"
fi

begin "module-name= of a module file whose module: is missing: exit 4, the message names the file"
printf 'module: %s\n' "$T_TMP/no/such/module.so" >"$REG/qsjwt-gone.module"
qsp11 list-tokens --pkcs11-uri 'pkcs11:?module-name=qsjwt-gone'
assert_fails 4 "cannot load PKCS#11 module 'qsjwt-gone' ($T_TMP/no/such/module.so, registered with p11-kit): "
rm "$REG/qsjwt-gone.module"

# What the files do not settle plainly is p11-kit's: its registry decides.
begin "module-name= of a module disabled in qs-jwt (disable-in): not found, as in p11-kit (exit 4)"
printf 'module: %s\ndisable-in: qs-jwt\n' "$ALT" >"$REG/qsjwt-off.module"
qsp11 list-tokens --pkcs11-uri 'pkcs11:token=qlik?module-name=qsjwt-off'
assert_fails 4 "no PKCS#11 module named 'qsjwt-off' is registered with p11-kit (see 'p11-kit list-modules')"
rm "$REG/qsjwt-off.module"

begin "module-name= with log-calls: yes: left to p11-kit's registry, which logs the calls"
printf 'module: %s\nlog-calls: yes\n' "$ALT" >"$REG/qsjwt-log.module"
qsp11 list-tokens --pkcs11-uri 'pkcs11:token=qlik?module-name=qsjwt-log' --loglevel verbose
assert_rc 0
assert_contains "$OUT" "token: qlik"
assert_contains "$ERR" "PKCS#11 module 'qsjwt-log' (registered with p11-kit; found through its registry)"
assert_contains "$ERR" "C_GetSlotList"
rm "$REG/qsjwt-log.module"

begin "a module file p11-kit cannot parse: p11-kit's registry refuses, and its message is shown (exit 4)"
printf 'module %s\n' "$ALT" >"$REG/qsjwt-broken.module"
qsp11 list-tokens --pkcs11-uri 'pkcs11:token=qlik?module-name=softhsm2'
assert_fails 4 "cannot read the PKCS#11 modules registered with p11-kit: "
assert_contains "$ERR" "qsjwt-broken.module"
rm "$REG/qsjwt-broken.module"

begin "disable-in: qs-jwt in the module file keeps tpm2-pkcs11 out of a registry search"
printf 'module: %s\ndisable-in: qs-jwt\n' "$TPM_MODULE" >"$REG/tpm2_pkcs11.module"
qs "${CLAIMS[@]}" --pkcs11-uri "$URI" --pkcs11-pin-file "$HSM_DIR/pin"
assert_ok_token
assert_not_contains "$ERR" "tcti"
assert_not_contains "$ERR" "ERROR:"

finish
