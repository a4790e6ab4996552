# Where LibriTTS lives (the dir holding LibriTTS/, or LibriTTS/ itself); edit for your site or export
# LIBRITTS before ./run.sh. local/data.sh downloads missing subsets here unless --download false.
LIBRITTS=${LIBRITTS:-downloads}
