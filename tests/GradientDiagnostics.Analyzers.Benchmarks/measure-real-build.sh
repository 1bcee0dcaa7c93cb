#!/usr/bin/env bash
# Real `dotnet build` of the generated project, with and without the analyzer, alternating pair by pair.
# Usage: measure-real-build.sh <project dir written by --write-project> [pairs, default 5] [extra dotnet build args...]
# BASELINE=<GradientDiagnostics.Analyzers.dll> adds a third arm to every round: the same build with that build of the
# analyzers (e.g. main's, saved before a change), so before and after are paired on the same machine state.
# Prints one line per build: arm, Csc task ms, CoreCompile target ms, whole build wall ms, compiler-reported total
# analyzer time and the GradientDiagnostics.Analyzers share of it (s); logs stay in <dir>/logs.
set -euo pipefail
dir=${1:?usage: measure-real-build.sh <project dir> [pairs]}
pairs=${2:-5}
extra=("${@:3}")
[[ -f $dir/GeneratedTrainingCodebase.csproj ]] || { echo "no GeneratedTrainingCodebase.csproj in '$dir'; write it with --write-project" >&2; exit 1; }
[[ -z ${BASELINE:-} || -f $BASELINE ]] || { echo "BASELINE '$BASELINE' is not a file" >&2; exit 1; }
mkdir -p "$dir/logs"
dotnet restore "$dir" -nologo -v:q
# Every arm uses the same compiler setup. Without a server (this machine's environment sets UseSharedCompilation=false)
# every csc is a fresh process. With -p:UseSharedCompilation=true the arms build through the compiler server, which
# other builds on the machine may share: it is never shut down here, and uncounted warm-up rounds (WARMUP=n, default 1;
# the server's tiered JIT needs about 4) load and JIT every arm's analyzers before anything is counted.

build() { # arm name, UseAnalyzer, log name, extra properties...
  local arm=$1 use=$2 name=$3 start end
  shift 3
  start=$(date +%s%N)
  dotnet build "$dir" -c Release -m:1 --no-incremental --no-restore -nologo -v:d -clp:PerformanceSummary \
    -p:ReportAnalyzer=true -p:UseAnalyzer="$use" "$@" "${extra[@]}" > "$dir/logs/$name.log"
  end=$(date +%s%N)
  local log=$dir/logs/$name.log
  local csc core total gd
  csc=$(awk '/Task Performance Summary/{t=1} t && $3=="Csc"{print $1; exit}' "$log")
  core=$(awk '/Target Performance Summary/{t=1} t && $3=="CoreCompile"{print $1; exit}' "$log")
  total=$(grep -m1 -o 'Total analyzer execution time: [0-9.]*' "$log" | awk '{print $NF}')
  gd=$(awk '$3 ~ /^GradientDiagnostics\.Analyzers,/{print $1; exit}' "$log")
  echo "$arm csc_ms=$csc corecompile_ms=$core build_ms=$(( (end - start) / 1000000 )) analyzers_s=${total:-0} gd_s=${gd:-0}"
}

arm() { # arm name, round label
  case $1 in
    true) build true true "with-$2" ;;
    baseline) build baseline true "baseline-$2" -p:GradientDiagnosticsAnalyzer="$BASELINE" ;;
    false) build false false "without-$2" ;;
  esac
}

arms=(true false)
[[ -z ${BASELINE:-} ]] || arms=(true baseline false)
round() { # round label, round number: even rounds run the arms in reverse order, so none always goes first
  local order=("${arms[@]}")
  (( $2 % 2 == 0 )) && order=($(printf '%s\n' "${arms[@]}" | tac))
  for a in "${order[@]}"; do
    arm "$a" "$1"
  done
}

for i in $(seq 1 "${WARMUP:-1}"); do
  round "warmup-$i" "$i" > /dev/null
done
for i in $(seq 1 "$pairs"); do
  round "$i" "$i"
done
