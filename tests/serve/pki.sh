# shellcheck shell=bash
# A test PKI for the TLS tests of qs-jwt serve, made with openssl in
# $T_TMP/pki: CAs "ca" and "otherca"; server certificates "server" and
# "server2" (127.0.0.1); client certificates "client", "scraper", "stranger"
# (ca), "other" (otherca), "serveronly" (serverAuth only) and "expired".
# Sourced after lib.sh.
PKI=$T_TMP/pki
mkdir -p "$PKI"

# ---- a test PKI ------------------------------------------------------------------------

# mkca NAME: a self-signed CA (P-256) NAME.pem / NAME.key.
mkca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/$1.key" \
		-out "$PKI/$1.pem" -days 3650 -subj "/O=Test/CN=$1" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
# mkcert NAME CA EXT [DAYS [FAKETIME]]: a certificate for NAME signed by CA
# with the extensions EXT, valid DAYS (default 3650: past the pinned clock of
# 2030) from now (or from FAKETIME's clock).
mkcert() {
	local pre=()
	[ -n "${5:-}" ] && pre=(faketime -f "$5")
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/$1.key" \
		-out "$PKI/$1.csr" -subj "/O=Test/CN=$1" 2>/dev/null
	printf '%s\n' "$3" >"$PKI/$1.ext"
	"${pre[@]}" openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.pem" -CAkey "$PKI/$2.key" \
		-CAcreateserial -out "$PKI/$1.pem" -days "${4:-3650}" -extfile "$PKI/$1.ext" 2>/dev/null
}
mkca ca
mkca otherca
mkcert server ca "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth"
mkcert server2 ca "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth"
mkcert client ca "extendedKeyUsage=clientAuth"
mkcert scraper ca "extendedKeyUsage=clientAuth"
mkcert stranger ca "extendedKeyUsage=clientAuth"
mkcert other otherca "extendedKeyUsage=clientAuth"
mkcert serveronly ca "extendedKeyUsage=serverAuth"
# Valid for one day, ten days ago.
mkcert expired ca "extendedKeyUsage=clientAuth" 1 "-10d"
for f in server server2 client scraper stranger other serveronly expired; do
	[ -s "$PKI/$f.pem" ] || { echo "cannot make the test certificate $f" >&2; exit 2; }
done
# A free TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# treq CERT METHOD PATH [BODY [CURL ARGS...]]: a request to $URL over TLS with client
# certificate CERT ("-": none); $STATUS ("000": no HTTP answer), body in
# $BODY_FILE, curl's exit code in $CURL_RC.
treq() {
	local cert=$1 m=$2 path=$3 body=${4:--} args=()
	shift 3
	[ $# -gt 0 ] && shift
	[ "$cert" != - ] && args+=(--cert "$PKI/$cert.pem" --key "$PKI/$cert.key")
	[ "$body" != - ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	: >"$BODY_FILE"
	STATUS=$(curl -s -m 20 --cacert "$PKI/ca.pem" -X "$m" -o "$BODY_FILE" -w '%{http_code}' \
		"${args[@]}" "$@" "$URL$path")
	CURL_RC=$?
}

