#!/bin/sh
# The Twilio Voice JS SDK the console serves itself (no CDN), from the npm registry: its built
# browser bundle (dist/twilio.min.js, about 300 KB, Apache-2.0) with its licence and version, in
# console/static/vendor/twilio-voice-sdk/. Run from the repository root to update:
#   VERSION=2.18.5 scripts/vendor-voice-sdk.sh
set -eu
VERSION=${VERSION:-2.18.5}
DEST=console/static/vendor/twilio-voice-sdk
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# npm checks the tarball against the registry's integrity hash.
(cd "$work" && npm pack --silent "@twilio/voice-sdk@$VERSION" >/dev/null && tar xzf "twilio-voice-sdk-$VERSION.tgz")
mkdir -p "$DEST"
cp "$work/package/dist/twilio.min.js" "$work/package/LICENSE.md" "$DEST/"
echo "@twilio/voice-sdk $VERSION (npm registry, dist/twilio.min.js)" > "$DEST/VERSION"
