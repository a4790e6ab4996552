# Where LJSpeech lives (the dir holding LJSpeech-1.1/, or LJSpeech-1.1/ itself); edit for your site or
# export LJSPEECH before ./run.sh. local/data.sh downloads it here unless --download false.
LJSPEECH=${LJSPEECH:-downloads}
