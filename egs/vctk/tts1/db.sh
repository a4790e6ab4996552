# Where VCTK lives (the dir holding VCTK-Corpus-0.92/ or VCTK-Corpus/, or either itself); edit for your
# site or export VCTK before ./run.sh. local/data.sh downloads 0.92 here unless --download false.
VCTK=${VCTK:-downloads}
