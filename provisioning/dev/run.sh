#!/usr/bin/env bash
# make run: a hub, simulated devices and an enrolled kiosk on this machine,
# all state under var/ (delete it to start over). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=bin
VAR=${VAR:-var}
HUB_ADDR=${HUB_ADDR:-127.0.0.1:8480}
mkdir -p "$VAR/hub" "$VAR/kiosk" "$VAR/dev"
VAR_ABS=$(cd "$VAR" && pwd)   # device paths in the config must be absolute

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# --public-url: terminals build the workshop's join and results QR codes on it.
"$BIN/hub-server" serve --data "$VAR/hub" --listen "$HUB_ADDR" --public-url "http://$HUB_ADDR" 2>>"$VAR/hub.log" &
HUB_PID=$!
pids+=($HUB_PID)

"$BIN/devsim" --no-stdin --control "$VAR/devsim.sock" \
  --script "sds011=provisioning/dev/demo-sds011.txt" \
  --script "mhz19=provisioning/dev/demo-mhz19.txt" \
  rdm6300="$VAR/dev/rfid" escpos="$VAR/dev/printer" \
  sds011="$VAR/dev/pm" mhz19="$VAR/dev/co2" >"$VAR/devsim.log" 2>&1 &
pids+=($!)

# Wait for the hub to answer before enrolling.
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/${HUB_ADDR%:*}/${HUB_ADDR#*:}") 2>/dev/null; then break; fi
  sleep 0.1
done

if [ ! -f "$VAR/kiosk/identity.json" ]; then
  token=$("$BIN/hub-server" token create --data "$VAR/hub" --terminal demo-friedrichstadt-1 --quarter Friedrichstadt)
  "$BIN/kiosk" enroll --hub "http://$HUB_ADDR" --token "$token" --data "$VAR/kiosk"
fi
# Where the demo terminal stands, so its air is published: the public
# page, the SensorThings API and the open data files show its minutes.
# Once per var/ (a var/ from before sites existed gets it too).
if [ ! -f "$VAR/demo-site.done" ]; then
  "$BIN/hub-server" terminal site demo-friedrichstadt-1 --data "$VAR/hub" \
    --lat 51.0580 --lon 13.7165 --place "Hohenthalplatz, an der Haltestelle" >/dev/null
  touch "$VAR/demo-site.done"
fi

# Speech: aplay on ALSA's default device where there is a sound card,
# else its null device (the sound is discarded); either way every
# utterance is written to $VAR/speech.txt (the transcript) to follow.
SPEECH_PLAYER='["aplay", "-q", "-D", "default"]'
if [ ! -e /dev/snd/controlC0 ]; then SPEECH_PLAYER='["aplay", "-q", "-D", "null"]'; fi

# The demo's card key is fixed so the demo service card (UID 0F00C0FFEE,
# PIN 2468) matches the hash in the demo content; a real deployment's
# terminals take the hub's key instead. A second demo terminal needs the
# same key (kiosk2.json) so that one card is one workshop voter on both.
cat >"$VAR/kiosk2.json" <<JSON
{"card_hash_key": "51756172746965726875622d64656d6f"}
JSON
cat >"$VAR/kiosk/config.json" <<JSON
{
  "card_hash_key": "51756172746965726875622d64656d6f",
  "devices": {
    "card_reader": {"kind": "rdm6300", "port": "$VAR_ABS/dev/rfid"},
    "printer": {"kind": "escpos", "port": "$VAR_ABS/dev/printer", "codepage": "cp858"},
    "sensors": [
      {"kind": "sds011", "port": "$VAR_ABS/dev/pm", "id": "pm-1", "interval": "5s"},
      {"kind": "mhz19", "port": "$VAR_ABS/dev/co2", "id": "co2-1", "interval": "5s"}
    ]
  },
  "speech": {"player": $SPEECH_PLAYER, "transcript": "$VAR_ABS/speech.txt"}
}
JSON

cat <<TXT

Quartierhub is running:
  hub          http://$HUB_ADDR        (data in $VAR/hub, log $VAR/hub.log)
  devices      simulated in $VAR/dev; commands: $BIN/devsim --control $VAR/devsim.sock --send 'rdm6300 tap 01004CA53B'
  kiosk agent  data in $VAR/kiosk

Try, in another terminal:
  $BIN/kiosk status --data $VAR/kiosk
  $BIN/kiosk submit --data $VAR/kiosk --type problem_report --payload '{"category":"litter","text":"Glas am Spielplatz"}'
  $BIN/kiosk sync-now --data $VAR/kiosk
  $BIN/hub-server export --data $VAR/hub --format csv
  open data    http://$HUB_ADDR/air (the air in the quarters), http://$HUB_ADDR/sta/v1.1/Datastreams (SensorThings),
               http://$HUB_ADDR/open-data/ (daily files; a day's file once the day is over)
  $BIN/hub-server terminal site demo-friedrichstadt-1 --data $VAR/hub --publish co2=hour   (what is published; --clear stops it)
  $BIN/devsim --control $VAR/devsim.sock --send 'escpos transcript'     (what the printer printed so far)
  $BIN/devsim --control $VAR/devsim.sock --send 'rdm6300 present 0F00C0FFEE'   service card; PIN 2468
  speech       press any key in the window (arrows, Enter, Escape = back, F1 = help, F2 = repeat):
               it speaks; what it says: tail -f $VAR/speech.txt
  $BIN/devprobe --device escpos --port $VAR/dev/printer --status   (stop the kiosk first: one owner per port)
  $BIN/hub-server command send --data $VAR/hub --terminal demo-friedrichstadt-1 --kind maintenance_on --message 'Back at 3 pm'
  offline: kill $HUB_PID   (the terminal keeps working and queues; start the hub again with:
           $BIN/hub-server serve --data $VAR/hub --listen $HUB_ADDR --public-url http://$HUB_ADDR 2>>$VAR/hub.log &)

A workshop (README "Workshops"):
  echo 'a long passphrase' | $BIN/hub-server user add --data $VAR/hub --name mona --role moderator --password-stdin
  then http://$HUB_ADDR/console/workshops (terminal demo-friedrichstadt-1 takes part if ticked), or:
  $BIN/hub-server workshop example > $VAR/spec.json   (add "terminals": ["demo-friedrichstadt-1"])
  $BIN/hub-server workshop create --data $VAR/hub --file $VAR/spec.json; ... workshop phase --data $VAR/hub --id W --to next
  $BIN/kiosk workshop checkin --data $VAR/kiosk --card 0011223344     then idea / dot / print (kiosk workshop help)
  a second terminal: T=\$($BIN/hub-server token create --data $VAR/hub --terminal demo-friedrichstadt-2 --quarter Friedrichstadt)
           $BIN/kiosk enroll --hub http://$HUB_ADDR --token "\$T" --data $VAR/kiosk2 && $BIN/kiosk agent --data $VAR/kiosk2 --config $VAR/kiosk2.json

TXT
# The kiosk is what the demo is about: the demo ends when it ends (or on
# Ctrl-C). Stopping the hub to try the terminal offline does not end it.
# A restart command from the hub ends the kiosk with status 75, as systemd
# would see it; start it again then.
[ -n "${DISPLAY:-}" ] || echo "no DISPLAY: running the kiosk agent without its window"
while :; do
  if [ -n "${DISPLAY:-}" ]; then
    "$BIN/kiosk" run --data "$VAR/kiosk" --config "$VAR/kiosk/config.json" --windowed --log-level warn 2>>"$VAR/kiosk.log" &
  else
    "$BIN/kiosk" agent --data "$VAR/kiosk" --config "$VAR/kiosk/config.json" --log-level warn &
  fi
  pids+=($!)
  code=0
  wait "$!" || code=$?
  [ "$code" = 75 ] || exit "$code"
  echo "kiosk restarted by the hub"
done
