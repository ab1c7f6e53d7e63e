#!/usr/bin/env bash
# Streams a 1 GiB upload (and download) through a release build and reports
# the server's RSS before/after (VmHWM = peak RSS) and the throughput.
# SIZE=<bytes> changes the size; S3=1 uses a local moto S3 server instead of
# the local directory store. Needs curl, jq, bc.
set -euo pipefail
BIN="${CARGO_TARGET_DIR:-$HOME/.cache/casework-target}/release/casework"
[ -x "$BIN" ] || { echo "build it first: cargo build --release" >&2; exit 1; }
D="${BENCH_DIR:-/tmp/casework-bench}"
rm -rf $D/db $D/evidence $D/out; mkdir -p $D/db $D/evidence $D/out
SIZE=${SIZE:-1073741824}
if [ ! -f $D/big.png ] || [ $(stat -c %s $D/big.png) != $SIZE ]; then
  printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0' > $D/big.png
  head -c $((SIZE - 29)) /dev/urandom >> $D/big.png
fi
PORT=18089
EXTRA=()
if [ "${S3:-0}" = 1 ]; then
  moto_server -H 127.0.0.1 -p 18090 > $D/moto.log 2>&1 &
  MOTO=$!
  for _ in $(seq 1 100); do curl -s http://127.0.0.1:18090/ >/dev/null && break; sleep 0.2; done
  curl -s -X PUT http://127.0.0.1:18090/bench-bucket >/dev/null
  export CASEWORK_EVIDENCE_URL=s3://bench-bucket/evidence AWS_ENDPOINT_URL=http://127.0.0.1:18090 AWS_ALLOW_HTTP=true \
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
fi
DATABASE_URL="sqlite://$D/db/casework.db?mode=rwc" CASEWORK_LISTEN=127.0.0.1:$PORT CASEWORK_EVIDENCE_DIR=$D/evidence \
  CASEWORK_MAX_UPLOAD_BYTES=$((2*1024*1024*1024)) CASEWORK_JWT_SECRET=bench-secret-that-is-long-enough-1234567890 \
  RUST_LOG=warn $BIN serve --demo > $D/server.log 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; [ -n "${MOTO:-}" ] && kill $MOTO 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.2; done
URL=http://127.0.0.1:$PORT/graphql
TOKEN=$(curl -s $URL -H 'content-type: application/json' -d '{"query":"mutation { login(email: \"agent@example.com\", password: \"casework-demo\") { accessToken } }"}' | jq -r .data.login.accessToken)
ID=$(curl -s $URL -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" -d '{"query":"mutation($i: CreateComplaintInput!) { createComplaint(input: $i) { id } }","variables":{"i":{"channel":"PHONE","category":"PRODUCT_QUALITY","severity":"LOW","title":"Fridge scratched","description":"Scratched door on delivery.","customer":{"name":"Wang Fang"},"coreDemand":"REPAIR","emotion":"CALM"}}}' | jq -r .data.createComplaint.id)
# Warm up with a small upload so that the baseline includes the code paths.
head -c 100000 $D/big.png > $D/small.png
up() { curl -s $URL -H "authorization: Bearer $TOKEN" -H 'apollo-require-preflight: true' \
  -F operations='{"query":"mutation($c: ID!, $f: Upload!) { uploadEvidence(complaintId: $c, kind: PHOTO, file: $f) { id sha256 size downloadUrl } }","variables":{"c":"'"$ID"'","f":null}}' \
  -F map='{"0":["variables.f"]}' -F "0=@$1;type=image/png"; }
up $D/small.png > /dev/null
rss() { grep -E "^(VmRSS|VmHWM)" /proc/$PID/status | tr -s ' ' | tr '\n' ' '; }
echo "before upload:   $(rss)"
START=$(date +%s.%N)
RESULT=$(up $D/big.png)
END=$(date +%s.%N)
echo "after upload:    $(rss)"
echo "upload result: $RESULT"
echo "$RESULT" | jq -e .data.uploadEvidence.id >/dev/null || { echo "the upload failed" >&2; exit 1; }
echo "upload: $SIZE bytes in $(echo "$END - $START" | bc) s = $(echo "$SIZE / ($END - $START) / 1048576" | bc) MiB/s"
EXPECTED=$(sha256sum $D/big.png | cut -d' ' -f1)
echo "sha256 expected: $EXPECTED"
DL=$(echo "$RESULT" | jq -r .data.uploadEvidence.downloadUrl)
START=$(date +%s.%N)
curl -s -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$DL" -o $D/out/down.png
END=$(date +%s.%N)
echo "after download:  $(rss)"
echo "download (verify pass + streamed pass): $(echo "$SIZE / ($END - $START) / 1048576" | bc) MiB/s; identical: $(cmp -s $D/big.png $D/out/down.png && echo yes || echo NO)"
rm -f $D/out/down.png
