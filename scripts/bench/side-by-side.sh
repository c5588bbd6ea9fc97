#!/usr/bin/env bash
# pointe against PyTorch on this CPU, case by case, one after the other on the same threads.
#
#   scripts/bench/side-by-side.sh [--quick]
#
# Creates .venv-bench (torch==2.13.0+cpu, numpy, scikit-image) on first use, builds pointe in
# release mode, then for each case runs `pointe bench ...` and scripts/bench/torch_bench.py
# (our PyTorch versions of the same networks, random weights) and prints both times, the
# ratio (torch / pointe) and GFLOP/s; for each forward also OpenBLAS's sgemm GFLOP/s on the pass's
# main product, measured in the same `pointe bench forward` run, and the fraction of it pointe
# reached. The last lines are `case pointe_seconds torch_seconds ratio [sgemm_gflops fraction]`,
# one per case, for scripts. --quick skips the two long cases (sample, mesh). Each forward case
# runs BENCH_ROUNDS (default 2) alternating rounds of pointe then PyTorch and reports medians.
#
# BENCH_ISA=avx2 runs both sides on their AVX2 code paths on an AVX-512 CPU (pointe's avx2
# kernels and OpenBLAS's HASWELL ones; PyTorch's ATen, MKL and oneDNN capped at AVX2): the
# instruction set of an AVX2-only machine, not its caches or clocks.
set -euo pipefail
cd "$(dirname "$0")/../.."
quick=0; [[ "${1:-}" == "--quick" ]] && quick=1
threads="${BENCH_THREADS:-$(nproc)}"
steps="${BENCH_SAMPLE_STEPS:-4}"
rounds="${BENCH_ROUNDS:-2}"  # turns each side takes per forward case (see forward)
cloud="${BENCH_CLOUD:-../shared/data/pc_corgi.npz}"
venv=.venv-bench

if [[ ! -x "$venv/bin/python" ]]; then
    echo "side-by-side: creating $venv with torch 2.13.0+cpu" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "torch==2.13.0+cpu" numpy scikit-image
fi
swift build -c release --product pointe >&2
pointe="$(swift build -c release --show-bin-path)/pointe"
torch=("$venv/bin/python" scripts/bench/torch_bench.py --threads "$threads")
export OMP_NUM_THREADS="$threads"
case "${BENCH_ISA:-}" in
    "") ;;
    avx2) export POINTE_KERNELS=avx2 OPENBLAS_CORETYPE=HASWELL ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 \
                 ONEDNN_MAX_CPU_ISA=AVX2 ;;
    *) echo "side-by-side: BENCH_ISA=$BENCH_ISA: only avx2 (or unset: the CPU's best) is known" >&2; exit 2 ;;
esac

results=()
# value KEY < output: the number after KEY at the start of a line.
value() { awk -v key="$1" '$1 == key { print $2; exit }'; }
report() {  # case pointe_s torch_s gflop [sgemm_gflops fraction [ratio]]
    local ratio pg tg yardstick=""
    ratio=$(awk -v p="$2" -v t="$3" -v r="${7:-}" 'BEGIN { printf "%.2f", r != "" ? r : t / p }')
    if [[ -n "$4" ]]; then
        pg=$(awk -v g="$4" -v s="$2" 'BEGIN { printf "%.0f", g / s }'); tg=$(awk -v g="$4" -v s="$3" 'BEGIN { printf "%.0f", g / s }')
    else pg="-"; tg="-"; fi
    [[ -n "${5:-}" ]] && yardstick=$(printf '   sgemm %5.0f  fraction %s' "$5" "$6")
    printf '%-28s pointe %9.2f s   torch %9.2f s   torch/pointe %6sx   GFLOP/s pointe %5s torch %5s%s\n' \
        "$1" "$2" "$3" "$ratio" "$pg" "$tg" "$yardstick"
    results+=("$1 $2 $3 $ratio${5:+ $5 $6}")
}

# median of the numbers given as arguments (the lower middle one of an even count)
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

forward() {  # case model batch torch_case [extra pointe args]
    # pointe and PyTorch take turns, $rounds times: a VM whose speed drifts over minutes slows
    # both sides of a round alike. Each column is the median over the rounds, the ratio the
    # median of the rounds' own ratios.
    local name=$1 model=$2 batch=$3 torch_case=$4; shift 4
    local out gflop round pointe_s torch_s ratios=() pointes=() torches=() sgemms=() fractions=()
    for ((round = 0; round < rounds; round++)); do
        out=$("$pointe" bench forward --model "$model" --batch "$batch" --runs 3 "$@" 2>/dev/null)
        gflop=$(value gflop <<< "$out")
        pointe_s=$(awk -v m="$(value forward_ms <<< "$out")" 'BEGIN { printf "%.3f", m / 1000 }')
        torch_s=$("${torch[@]}" "$torch_case" --runs 3 | value seconds)
        pointes+=("$pointe_s"); torches+=("$torch_s")
        ratios+=("$(awk -v p="$pointe_s" -v t="$torch_s" 'BEGIN { printf "%.3f", t / p }')")
        sgemms+=("$(value sgemm_gflops <<< "$out")"); fractions+=("$(value fraction <<< "$out")")
    done
    (( rounds > 1 )) && echo "$name rounds: torch/pointe ${ratios[*]}, fraction ${fractions[*]}" >&2
    report "$name" "$(median "${pointes[@]}")" "$(median "${torches[@]}")" "$gflop" \
        "$(median "${sgemms[@]}")" "$(median "${fractions[@]}")" "$(median "${ratios[@]}")"
}

echo "side-by-side on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $threads threads, ISA ${BENCH_ISA:-best}" \
     "(pointe: OpenBLAS $(dpkg-query -W -f='${Version}' libopenblas0 2>/dev/null || echo '?'); torch $("$venv/bin/python" -c 'import torch; print(torch.__version__)'))"
forward "base40M-textvec-b2" base40M-textvec 2 base40M-textvec
forward "base40M-grid-b2" base40M 2 base40M
forward "upsample-b1" upsample 1 upsample
forward "sdf-encode-4096" sdf 1 sdf-encode --part encode
forward "sdf-decode-4096" sdf 1 sdf-decode --part decode

if (( quick == 0 )); then
    out=$("$pointe" bench sample --steps "$steps" 2>/dev/null)
    report "sample-2stage-${steps}steps" "$(value total_s <<< "$out")" "$("${torch[@]}" sample --steps "$steps" | value seconds)" ""
    # Peak resident memory of a text-to-cloud worker at batch 4 (weights included).
    mem_steps=2
    pointe_rss=$("$pointe" bench sample --steps "$mem_steps" --batch 4 2>/dev/null | value peak_rss_mb)
    torch_rss=$("${torch[@]}" sample --steps "$mem_steps" --batch 4 | value peak_rss_mb)
    echo "peak RSS sampling text-to-cloud at batch 4 ($mem_steps steps per stage): pointe ${pointe_rss} MB, torch ${torch_rss} MB"
    if [[ -f "$cloud" ]]; then
        # pointe meshes coarse-to-fine with cached decoder keys/values (its default); PyTorch as
        # the reference does: the dense grid, keys/values recomputed per batch, skimage's marching cubes.
        out=$("$pointe" bench mesh --cloud "$cloud" --grid 128 --dense-batches 1 2>/dev/null)
        report "mesh-grid128" "$(value coarse_to_fine_s <<< "$out")" "$("${torch[@]}" mesh --grid 128 --cloud "$cloud" | value seconds)" ""
    else
        echo "side-by-side: $cloud missing; mesh case skipped (set BENCH_CLOUD)" >&2
    fi
fi

echo "# case pointe_seconds torch_seconds ratio [sgemm_gflops fraction]"
printf '%s\n' "${results[@]}"
