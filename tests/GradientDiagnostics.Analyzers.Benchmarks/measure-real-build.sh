#!/usr/bin/env bash
# Real `dotnet build` of the generated project, with and without the analyzer, alternating pair by pair.
# Usage: measure-real-build.sh <project dir written by --write-project> [pairs, default 5] [extra dotnet build args...]
# Prints one line per build: arm, Csc task ms, CoreCompile target ms, whole build wall ms, compiler-reported total
# analyzer time and the GradientDiagnostics.Analyzers share of it (s); logs stay in <dir>/logs.
set -euo pipefail
dir=${1:?usage: measure-real-build.sh <project dir> [pairs]}
pairs=${2:-5}
extra=("${@:3}")
[[ -f $dir/GeneratedTrainingCodebase.csproj ]] || { echo "no GeneratedTrainingCodebase.csproj in '$dir'; write it with --write-project" >&2; exit 1; }
mkdir -p "$dir/logs"
dotnet restore "$dir" -nologo -v:q
# Both arms share one compiler setup. Without a server (this machine's environment sets UseSharedCompilation=false)
# every csc is a fresh process; with -p:UseSharedCompilation=true the server is shut down once here and warmed up
# with uncounted pairs, so neither arm pays its start-up and JIT. WARMUP=n sets those pairs (default 1; the server's
# tiered JIT needs about 4).
dotnet build-server shutdown > /dev/null

build() { # arm, log name
  local start end
  start=$(date +%s%N)
  dotnet build "$dir" -c Release -m:1 --no-incremental --no-restore -nologo -v:d -clp:PerformanceSummary \
    -p:ReportAnalyzer=true -p:UseAnalyzer="$1" "${extra[@]}" > "$dir/logs/$2.log"
  end=$(date +%s%N)
  local log=$dir/logs/$2.log
  local csc core total gd
  csc=$(awk '/Task Performance Summary/{t=1} t && $3=="Csc"{print $1; exit}' "$log")
  core=$(awk '/Target Performance Summary/{t=1} t && $3=="CoreCompile"{print $1; exit}' "$log")
  total=$(grep -m1 -o 'Total analyzer execution time: [0-9.]*' "$log" | awk '{print $NF}')
  gd=$(awk '$3 ~ /^GradientDiagnostics\.Analyzers,/{print $1; exit}' "$log")
  echo "$1 csc_ms=$csc corecompile_ms=$core build_ms=$(( (end - start) / 1000000 )) analyzers_s=$total gd_s=${gd:-0}"
}

for i in $(seq 1 "${WARMUP:-1}"); do
  build true "warmup-with-$i" > /dev/null
  build false "warmup-without-$i" > /dev/null
done
for i in $(seq 1 "$pairs"); do
  build true "with-$i"
  build false "without-$i"
done
