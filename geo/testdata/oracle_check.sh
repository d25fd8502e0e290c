#!/usr/bin/env bash
# Oracle test: installs h3-js 4.5.0 (the reference H3 core 4.5.0) into a
# scratch dir under the build tree, regenerates a large golden-vector set
# with a fresh seed and checks courier_geo against it with h3_golden_check.
# Exits 77 (ctest: skipped) when node/npm, the generator or the npm
# registry is unavailable. Reproduce a run with H3_ORACLE_SEED=<seed>.
#
# usage: oracle_check.sh CHECKER GEN_VECTORS_JS SCRATCH_DIR
set -euo pipefail

checker=$1
generator=$2
mkdir -p "$3"
scratch=$(cd "$3" && pwd)
readonly skip=77
readonly h3js_version=4.5.0

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: node/npm not installed"
  exit $skip
fi
if [[ ! -f $generator ]]; then
  echo "SKIP: generator not found at $generator (set COURIER_H3_GEN_VECTORS)"
  exit $skip
fi

cp "$generator" "$scratch/gen_vectors.js"
if [[ ! -f $scratch/node_modules/h3-js/package.json ]] ||
   ! grep -q "\"version\": \"$h3js_version\"" "$scratch/node_modules/h3-js/package.json"; then
  echo "installing h3-js@$h3js_version into $scratch"
  if ! (cd "$scratch" && npm install --no-audit --no-fund --no-save \
          "h3-js@$h3js_version" >npm.log 2>&1); then
    echo "SKIP: npm could not install h3-js@$h3js_version (registry unreachable?)"
    tail -5 "$scratch/npm.log" || true
    exit $skip
  fi
fi

seed=${H3_ORACLE_SEED:-$(( $(od -An -N4 -tu4 /dev/urandom) ))}
echo "oracle seed: $seed (rerun with H3_ORACLE_SEED=$seed)"
vectors=$scratch/h3_golden_oracle.tsv
(cd "$scratch" && node gen_vectors.js --format tsv --seed "$seed" --full-res 2 \
   --out "$vectors")
"$checker" "$vectors"
