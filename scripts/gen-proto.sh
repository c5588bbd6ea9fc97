#!/usr/bin/env bash
# Regenerates Sources/PointEWire/Generated/pointe.pb.swift from proto/pointe.proto.
# The generated file is committed, so building pointe never needs protoc or the plugin.
#
# Needs protoc (Debian: protobuf-compiler) and protoc-gen-swift of the SAME swift-protobuf
# version as Package.swift pins (the runtime and generator must match). Build the plugin
# outside this repository, e.g.:
#   git clone https://github.com/apple/swift-protobuf /tmp/swift-protobuf
#   cd /tmp/swift-protobuf && git checkout 1.39.0 && swift build --product protoc-gen-swift   (a debug build is enough: about 1.5 min)
# then run this script with PROTOC_GEN_SWIFT=/tmp/swift-protobuf/.build/debug/protoc-gen-swift
# (or with protoc-gen-swift on PATH).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
plugin="${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}"
if [[ -z "$plugin" || ! -x "$plugin" ]]; then
    echo "gen-proto: protoc-gen-swift not found; set PROTOC_GEN_SWIFT (see the comment at the top of $0)" >&2
    exit 1
fi
command -v protoc >/dev/null || { echo "gen-proto: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
out="$root/Sources/PointEWire/Generated"
mkdir -p "$out"
protoc --plugin=protoc-gen-swift="$plugin" \
    --proto_path="$root/proto" \
    --swift_out="$out" \
    --swift_opt=Visibility=Public \
    "$root/proto/pointe.proto"
echo "gen-proto: wrote $out/pointe.pb.swift"
