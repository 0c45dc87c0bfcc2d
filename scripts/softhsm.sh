# shellcheck shell=bash
# Throwaway SoftHSM2 tokens, for the tests, the demo and the benchmarks.
# Source this file, then:
#   softhsm_new DIR LABEL PIN [CONFIG_LINE...]
# makes a fresh token store in DIR (config DIR/softhsm2.conf, extra lines
# appended, e.g. 'slots.mechanisms = CKM_RSA_PKCS,CKM_RSA_PKCS_KEY_PAIR_GEN'),
# exports SOFTHSM2_CONF so the SoftHSM2 module registered with p11-kit uses
# it, initialises a token LABEL with user PIN PIN (SO PIN: "so-PIN"), and
# writes DIR/pin (mode 0600) for --pkcs11-pin-file.
# softhsm_add_token LABEL PIN adds another token to the same store.
# SOFTHSM_MODULE is the module's path.

SOFTHSM_MODULE=/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so
[ -e "$SOFTHSM_MODULE" ] || SOFTHSM_MODULE=/usr/lib/softhsm/libsofthsm2.so
export SOFTHSM_MODULE

softhsm_add_token() {
	# softhsm2-util takes the PINs only as arguments; these are throwaway
	# test PINs on a throwaway token, never a real one.
	softhsm2-util --init-token --free --label "$1" --so-pin "so-$2" --pin "$2" >/dev/null
}

softhsm_new() {
	local dir=$1 label=$2 pin=$3
	shift 3
	mkdir -p "$dir/tokens"
	{
		echo "directories.tokendir = $dir/tokens"
		echo "objectstore.backend = file"
		echo "log.level = ERROR"
		[ $# -gt 0 ] && printf '%s\n' "$@"
	} >"$dir/softhsm2.conf"
	export SOFTHSM2_CONF="$dir/softhsm2.conf"
	softhsm_add_token "$label" "$pin"
	(umask 077 && printf '%s\n' "$pin" >"$dir/pin")
}
