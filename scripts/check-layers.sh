#!/usr/bin/env bash
# Each layer of src/ uses only itself and the layers below it
# (docs/design.md, "Layers"). Fails (exit 1) naming FILE:LINE and the include
# when a source file includes a header of a layer above its own, a header
# outside every layer, or when a folder of src/ is in no layer.
# Usage: scripts/check-layers.sh [ROOT]   (ROOT: the source tree, default the
# one this script is in)
set -uo pipefail

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}

# Lowest first. keys is below jose: a JWT is signed through the signer
# (jose/jwt.c, jose/jwk.c use keys/signer_impl.h), and a key never needs JOSE.
# pool and serve sit on the whole library; cli on everything.
LAYERS=(platform util pkcs11 keys jose pool serve cli)

# Files whose folder is not their layer, and why.
declare -A FILE_LAYER=(
	# The Windows entry point: turns wmain's UTF-16 argv into UTF-8 and calls
	# the CLI's main; it is the CLI's own code, kept with the Windows calls.
	[src/platform/wmain.c]=cli
	# The console prompt of the CLI (cli/prompt.h, cli/stop.h) on Windows: it
	# implements the cli layer's prompt, not a platform call.
	[src/platform/prompt_win32.c]=cli
)

# Includes allowed although they point upwards, until the change named in
# the comment lands. Key: "FILE|INCLUDE". None today.
declare -A TEMPORARY=()

declare -A RANK=()
for i in "${!LAYERS[@]}"; do RANK[${LAYERS[$i]}]=$i; done
INCLUDE_RE='^[[:space:]]*#[[:space:]]*include[[:space:]]*(["<][^">]+[">])'

order=$(IFS='<'; echo "${LAYERS[*]}")
order=${order//</ < }
bad=0

if [ ! -d "$root/src" ]; then
	echo "check-layers: no src/ in '$root'" >&2
	exit 2
fi

# Every folder of src/ must be a layer: a new one is placed in the order
# explicitly, not left unchecked.
for d in "$root"/src/*/; do
	name=$(basename "$d")
	if [ -z "${RANK[$name]:-}" ]; then
		echo "src/$name/: a folder that is in no layer; add it to LAYERS in scripts/check-layers.sh and to docs/design.md"
		bad=1
	fi
done

while IFS= read -r -d '' file; do
	rel=${file#"$root"/}
	case $rel in
	include/*) layer=public ;;
	*)
		layer=${FILE_LAYER[$rel]:-}
		if [ -z "$layer" ]; then
			layer=${rel#src/}
			layer=${layer%%/*}
		fi
		;;
	esac
	if [ "$layer" = public ]; then
		mine=-1
	else
		mine=${RANK[$layer]:--1}
		[ "$mine" = -1 ] && continue # reported above
	fi
	# "#include" lines, quoted or in angle brackets, with their numbers.
	while IFS=: read -r line text; do
		[[ $text =~ $INCLUDE_RE ]] || continue
		raw=${BASH_REMATCH[1]}
		inc=${raw:1:${#raw}-2}
		case $inc in
		qsjwt/*) continue ;; # the public header: available to every layer
		*/*) top=${inc%%/*} ;;
		*)
			# A bare "name.h" in quotes would name no layer; a system
			# header in angle brackets is not ours.
			case $raw in
			'"'*)
				echo "$rel:$line: #include $raw: name its layer's folder (\"layer/$inc\")"
				bad=1
				;;
			esac
			continue
			;;
		esac
		theirs=${RANK[$top]:--1}
		[ "$theirs" = -1 ] && continue # <openssl/...>, <sys/...>, ...
		if [ "$layer" = public ]; then
			echo "$rel:$line: #include $raw: the public header includes only system headers and qsjwt/ (it is part of the ABI)"
			bad=1
			continue
		fi
		if [ "$theirs" -gt "$mine" ]; then
			if [ -n "${TEMPORARY[$rel|$inc]:-}" ]; then
				echo "$rel:$line: #include $raw: allowed for now (${TEMPORARY[$rel|$inc]})" >&2
				continue
			fi
			echo "$rel:$line: #include $raw: layer $layer includes $top, a layer above it ($order)"
			bad=1
		fi
	done < <(grep -nE '^[[:space:]]*#[[:space:]]*include' "$file")
done < <(find "$root/src" "$root/include" -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)

if [ "$bad" != 0 ]; then
	echo "check-layers: FAILED: a layer includes only its own headers and those of the layers below it ($order; docs/design.md)"
	exit 1
fi
echo "check-layers: every include follows the layers ($order)"
