# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the scripts that source this
# Helpers for the tests against PKCS#11 modules other than SoftHSM2. Each
# module is set up by the test in its own temporary directory and torn down
# at exit, its daemons stopped by PID. Modules whose Debian package would
# register them with p11-kit for the whole machine are never installed:
# scripts/tokens.sh unpacks them into QSJWT_TOKENS_DIR and the tests load
# them by path.
#
#   . "$(dirname "$0")/lib.sh"
#   tpm_new tpm "$PIN"           # swtpm + tpm2-abrmd + a tpm2_ptool token
#   qs "${CLAIMS[@]}" --pkcs11-module "$TPM_MODULE" --pkcs11-uri 'pkcs11:token=tpm;...'
#
# Environment: as tests/softhsm/lib.sh, plus QSJWT_TOKENS_DIR (the cache of
# unpacked packages; filled by scripts/tokens.sh when empty). A module that
# cannot be had is a skip (exit 77, the reason on stdout), never a pass.

# shellcheck source=../softhsm/lib.sh
. "$QSJWT_SOURCE_DIR/tests/softhsm/lib.sh"
unset TPM2_PKCS11_TCTI TPM2_PKCS11_STORE TPM2TOOLS_TCTI DBUS_SESSION_BUS_ADDRESS \
	TPM2_PKCS11_LOG_LEVEL

SKIP_RC=77

# skip REASON: the whole script is skipped (ctest SKIP_RETURN_CODE).
skip() {
	printf '%s: SKIPPED: %s\n' "$(basename "$0" .sh)" "$*"
	exit "$SKIP_RC"
}

# module_leaks_env: RUN_ENV words for a run whose module leaks and is then
# unloaded by p11-kit (dlclose): LeakSanitizer reports the leak from
# "<unknown module>", which no suppression can name, so leak detection is
# off for that run only (under ASan; harmless otherwise). The same qs-jwt
# paths run with leak detection in the other cases and suites.
module_leaks_env() {
	RUN_ENV+=("ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
}

# tokens_fetch: make sure the private packages are unpacked.
tokens_fetch() {
	[ -n "${QSJWT_TOKENS_DIR:-}" ] || { echo "QSJWT_TOKENS_DIR is not set" >&2; exit 2; }
	"$QSJWT_SOURCE_DIR/scripts/tokens.sh" fetch "$QSJWT_TOKENS_DIR" >"$T_TMP/fetch.log" 2>&1 ||
		skip "the private module packages cannot be fetched: $(tail -n 3 "$T_TMP/fetch.log")"
	# Absolute: module files and URIs name these paths.
	QSJWT_TOKENS_DIR=$(cd "$QSJWT_TOKENS_DIR" && pwd)
}

# free_port_pair: a port P with P and P+1 free on 127.0.0.1 (swtpm takes
# both: commands and control). Another program may take them before swtpm
# does: tpm_new tries again.
free_port_pair() {
	python3 - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randrange(20000, 60000, 2)
    socks = []
    try:
        for q in (p, p + 1):
            s = socket.socket()
            s.bind(("127.0.0.1", q))
            socks.append(s)
        print(p)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
EOF
}

# stop_pid PID: TERM, then KILL after 5 s; only this PID.
stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
}

# wait_for FILE_OR_CMD...: run the command until it succeeds, at most 10 s.
wait_for() {
	local i
	for i in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# ---- TPM 2.0: tpm2-pkcs11 on swtpm ---------------------------------------------------
#
# swtpm is a TPM 2.0 in software (on 127.0.0.1 only). tpm2_ptool (the
# token's set-up tool) runs tpm2-tools commands that leave transient
# objects loaded, and swtpm holds only three (TPM_RC_OBJECT_MEMORY after
# that): like a real machine's /dev/tpmrm0, tpm2-abrmd swaps them out. It
# runs on a private D-Bus session bus, so nothing system-wide is touched.

# tpm_new LABEL PIN: a TPM, a tpm2-pkcs11 store and a token LABEL with user
# PIN PIN (SO PIN so-PIN). Sets TPM_DIR, TPM_MODULE, TPM_LABEL, TPM_PIN and
# TPM_PINF (a 0600 PIN file), exports the module's TPM2_PKCS11_TCTI and
# TPM2_PKCS11_STORE (and TPM2TOOLS_TCTI for tpm2-tools).
tpm_new() {
	local label=$1 pin=$2 tool port try
	for tool in swtpm tpm2_ptool tpm2_startup dbus-daemon flock; do
		command -v "$tool" >/dev/null || skip "missing tool: $tool (scripts/install-deps.sh)"
	done
	tokens_fetch
	TPM_MODULE=$QSJWT_TOKENS_DIR/libtpm2-pkcs11-1/usr/lib/x86_64-linux-gnu/libtpm2_pkcs11.so.1
	local abrmd=$QSJWT_TOKENS_DIR/tpm2-abrmd/usr/sbin/tpm2-abrmd
	[ -e "$TPM_MODULE" ] || skip "tpm2-pkcs11 module not found: $TPM_MODULE"
	[ -x "$abrmd" ] || skip "tpm2-abrmd not found: $abrmd"
	TPM_DIR=$T_TMP/tpm
	TPM_LABEL=$label
	TPM_PIN=$pin
	mkdir -p "$TPM_DIR/state" "$TPM_DIR/store"
	for try in 1 2 3 4 5; do
		port=$(free_port_pair)
		[ -n "$port" ] || continue
		rm -f "$TPM_DIR/swtpm.pid"
		swtpm socket --tpm2 --tpmstate "dir=$TPM_DIR/state" \
			--server "type=tcp,port=$port,bindaddr=127.0.0.1" \
			--ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
			--flags startup-clear,not-need-init --pid "file=$TPM_DIR/swtpm.pid" \
			-d >"$TPM_DIR/swtpm.log" 2>&1 && wait_for test -s "$TPM_DIR/swtpm.pid" && break
		port=
	done
	[ -n "$port" ] || { cat "$TPM_DIR/swtpm.log" >&2; echo "cannot start swtpm" >&2; exit 2; }
	TPM_SWTPM_PID=$(cat "$TPM_DIR/swtpm.pid")
	at_exit 'stop_pid "$TPM_SWTPM_PID"'

	cat >"$TPM_DIR/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$TPM_DIR/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
	TPM_DBUS_PID=$(dbus-daemon --config-file="$TPM_DIR/bus.conf" --fork --print-pid)
	at_exit 'stop_pid "$TPM_DBUS_PID"'
	wait_for test -S "$TPM_DIR/bus" || { echo "the private D-Bus did not start" >&2; exit 2; }
	export DBUS_SESSION_BUS_ADDRESS=unix:path=$TPM_DIR/bus
	local name=com.intel.tss2.Tabrmd.qsjwt$port
	"$abrmd" --session --allow-root --dbus-name="$name" --tcti="swtpm:host=127.0.0.1,port=$port" \
		>"$TPM_DIR/abrmd.log" 2>&1 </dev/null &
	TPM_ABRMD_PID=$!
	at_exit 'stop_pid "$TPM_ABRMD_PID"'
	export TPM2_PKCS11_TCTI="tabrmd:bus_name=$name,bus_type=session"
	export TPM2TOOLS_TCTI=$TPM2_PKCS11_TCTI
	export TPM2_PKCS11_STORE=$TPM_DIR/store
	wait_for tpm2_getcap properties-fixed ||
		{ cat "$TPM_DIR/abrmd.log" >&2; echo "tpm2-abrmd does not answer" >&2; exit 2; }
	# The PINs are test PINs of a throwaway TPM; tpm2_ptool takes them only
	# as arguments.
	tpm2_ptool init --path "$TPM_DIR/store" >"$TPM_DIR/ptool.log" 2>&1 &&
		tpm2_ptool addtoken --pid=1 --sopin="so-$pin" --userpin="$pin" --label="$label" \
			--path "$TPM_DIR/store" >>"$TPM_DIR/ptool.log" 2>&1 ||
		{ cat "$TPM_DIR/ptool.log" >&2; echo "tpm2_ptool cannot make the token" >&2; exit 2; }
	TPM_PINF=$TPM_DIR/pin
	(umask 077 && printf '%s\n' "$pin" >"$TPM_PINF")
}


# ---- openCryptoki soft token -------------------------------------------------------------
#
# openCryptoki 3.8 compiles its paths in (/etc/opencryptoki/opencryptoki.conf,
# /var/lib/opencryptoki, /run/pkcsslotd.*, /run/lock/opencryptoki), needs a
# `pkcs11` group in /etc/group, and keeps the slot table in shared memory
# written by its daemon pkcsslotd. None of that may touch the machine: the
# test runs in its own mount and IPC namespace (unshare -m -i), where the
# unpacked package is laid over /usr and /etc (overlayfs, writes go to the
# test's directory), /run, /var/log and /dev/shm are fresh tmpfs, and
# /var/lib is an overlay too. On exit the namespace goes away with them.

# ock_new LABEL PIN: the soft token (slot 3) initialised with label LABEL,
# SO PIN so-PIN... (openCryptoki PINs are 4 to 8 characters), user PIN PIN;
# pkcsslotd runs until exit. Sets OCK_MODULE, OCK_PINF.
ock_new() {
	local label=$1 pin=$2 c d
	[ -n "${QSJWT_OCK_NS:-}" ] || { echo "ock_new outside the private namespace" >&2; exit 2; }
	tokens_fetch
	c=$QSJWT_TOKENS_DIR
	[ -x "$c/opencryptoki/usr/sbin/pkcsslotd" ] || skip "pkcsslotd not found in $c/opencryptoki"
	d=$T_TMP/ock
	mkdir -p "$d/etc.up" "$d/etc.work" "$d/lib.up" "$d/lib.work"
	mount -t overlay overlay -o "lowerdir=$c/opencryptoki/etc:/etc,upperdir=$d/etc.up,workdir=$d/etc.work" /etc &&
		mount -t overlay overlay -o "lowerdir=$c/opencryptoki/usr:$c/libopencryptoki0/usr:/usr" /usr &&
		mount -t overlay overlay -o "lowerdir=$c/opencryptoki/var/lib:/var/lib,upperdir=$d/lib.up,workdir=$d/lib.work" /var/lib &&
		mount -t tmpfs -o mode=0755 tmpfs /run &&
		mount -t tmpfs -o mode=0755 tmpfs /var/log &&
		mount -t tmpfs -o mode=1777 tmpfs /dev/shm ||
		skip "cannot lay openCryptoki over / in the private namespace (overlayfs, tmpfs)"
	mkdir -p /run/lock/opencryptoki/swtok /var/log/opencryptoki
	# What the package's postinst does (addgroup --system pkcs11; adduser
	# root pkcs11), here in the overlay only.
	grep -q '^pkcs11:' /etc/group || echo 'pkcs11:x:9999:root' >>/etc/group
	/usr/sbin/pkcsslotd >"$d/slotd.log" 2>&1 || { cat "$d/slotd.log" >&2; echo "pkcsslotd failed" >&2; exit 2; }
	wait_for test -s /run/pkcsslotd.pid || { echo "pkcsslotd wrote no pid file" >&2; exit 2; }
	OCK_SLOTD_PID=$(cat /run/pkcsslotd.pid)
	at_exit 'stop_pid "$OCK_SLOTD_PID"'
	# pkcsconf reads the PINs from standard input; test PINs of a
	# throwaway token. 87654321 is the soft token's factory SO PIN.
	{ printf '87654321\n%s\n' "$label" | pkcsconf -I -c 3 &&
		printf '87654321\nso-%s\nso-%s\n' "${pin:0:5}" "${pin:0:5}" | pkcsconf -P -c 3 &&
		printf 'so-%s\n%s\n%s\n' "${pin:0:5}" "$pin" "$pin" | pkcsconf -u -c 3; } >"$d/pkcsconf.log" 2>&1 ||
		{ cat "$d/pkcsconf.log" >&2; echo "pkcsconf cannot initialise the soft token" >&2; exit 2; }
	OCK_MODULE=/usr/lib/x86_64-linux-gnu/opencryptoki/libopencryptoki.so.0
	OCK_PINF=$d/pin
	(umask 077 && printf '%s\n' "$pin" >"$OCK_PINF")
}
