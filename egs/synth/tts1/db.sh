# Where this recipe's corpus lives; edit for your site or export SYNTH before ./run.sh.
# The synth corpus is generated offline (espeak-ng/flite/festival voices, seeded pitch shifts) by
# local/data.sh into ${SYNTH} when it is not there yet.
SYNTH=${SYNTH:-downloads/synth}
