#!/usr/bin/env bash
# make demo: install what is missing, build, start a private Mosquitto and
# hearthd with demo content. With $DISPLAY the screen opens in a window;
# without, it runs under Xvfb and a screenshot is written every few seconds.
# `make demo-stop` (or `.ci/demo.sh stop`) ends it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
demo=$root/.demo
export LANG=en_GB.UTF-8

stop() {
  for f in "$demo"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null && echo "stopped $(basename "$f" .pid) ($pid)"
    rm -f "$f"
  done
}

if [ "${1:-}" = stop ]; then stop; exit 0; fi
stop >/dev/null 2>&1 || true

bash .ci/deps.sh base
make --no-print-directory build
mkdir -p "$demo/photos" "$demo/shots"

free_port() {
  local p=$1
  while (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}
port=$(free_port 18830)
wsport=$(free_port $((port + 1)))
webport=$(free_port 18080)
broker=mqtt://127.0.0.1:$port
device=demo-kitchen

cat >"$demo/mosquitto.conf" <<CONF
user root
listener $port 127.0.0.1
listener $wsport 127.0.0.1
protocol websockets
allow_anonymous true
persistence true
persistence_location $demo/
log_dest file $demo/mosquitto.log
# As the shipped config (provisioning/broker): no Nagle delay on call signals.
set_tcp_nodelay true
CONF
setsid mosquitto -c "$demo/mosquitto.conf" >/dev/null 2>&1 &
echo $! >"$demo/mosquitto.pid"
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done

ctl() { "$root/bin/hearthctl" --broker "$broker" "$@"; }
ctl demo-photos "$demo/photos" >/dev/null

# Calls: an organisation, a nurse who may place forced calls and Anna who
# rings first; the device is given the organisation's key. No camera here:
# the test pattern and tone stand in (--media test).
[ -e "$demo/keys/org/org.key" ] || ctl provision ca init --out "$demo/keys/org" --name "Demo Care" >/dev/null
[ -e "$demo/keys/anna/caller.key" ] || ctl caller new --name Anna --out "$demo/keys/anna" >/dev/null
[ -e "$demo/keys/nurse/caller.key" ] || ctl caller new --name "Nurse Eva" --out "$demo/keys/nurse" >/dev/null
# Their faces on the call screens, and the nurse's greeting (a test tone
# stands in for her voice) after the chime of her forced calls.
ctl caller picture --caller "$demo/keys/anna" "$demo/photos/anna-face.jpg" >/dev/null
ctl caller picture --caller "$demo/keys/nurse" "$demo/photos/eva-face.jpg" >/dev/null
[ -e "$demo/keys/nurse/greeting.ogg" ] || ctl caller greeting --caller "$demo/keys/nurse" --record 2s --media test >/dev/null

# The family and the home care service sign what they send, and the
# allowlist says who may send; the screen shows the names listed there and
# takes only signed items. A hearthctl or hearthd from before signing
# (no "send" right, no --require-signed-items) gets the unsigned demo.
sign=
allow_help=$("$root/bin/hearthctl" allow --help 2>&1 || true)
[[ $allow_help == *send* ]] && sign=1
may() { if [ -n "$sign" ]; then echo "$1${1:+,}send"; else echo "${1:-none}"; fi; }
ctl allow --org "$demo/keys/org" --device $device --caller "$demo/keys/anna" --may "$(may signalled)" >/dev/null
ctl allow --org "$demo/keys/org" --device $device --caller "$demo/keys/nurse" --may "$(may both)" >/dev/null
content_keys=()
if [ -n "$sign" ]; then
  for who in Ella Peter Jonas "Home care"; do
    id=$(echo "$who" | tr -d ' ' | tr A-Z a-z)
    [ -e "$demo/keys/$id/caller.key" ] || ctl caller new --name "$who" --id "$id" --out "$demo/keys/$id" >/dev/null
    ctl allow --org "$demo/keys/org" --device $device --caller "$demo/keys/$id" --may send >/dev/null
  done
  content_keys=(--keys "$demo/keys")
fi
# The demo's photos and messages, each under a fixed id: running the demo
# again leaves them as they are (or renews one that ran out), never adds
# them twice.
ctl demo-content --device $device --photos "$demo/photos" "${content_keys[@]}" >/dev/null

args=(--device-id $device --broker "$broker" --data "$demo/data" --dwell 8s --screen 1280x720
  --name "Demo kitchen" --media test --org-key "$demo/keys/org/org.pub")
hearthd_help=$("$root/bin/hearthd" --help 2>&1 || true)
if [ -n "$sign" ] && [[ $hearthd_help == *require-signed-items* ]]; then
  args+=(--require-signed-items)
fi
if [ -n "${DISPLAY:-}" ]; then
  setsid "$root/bin/hearthd" "${args[@]}" --windowed >"$demo/hearthd.log" 2>&1 &
  echo $! >"$demo/hearthd.pid"
  where="in a window on $DISPLAY"
else
  # -displayfd: Xvfb picks a free display and says which once it listens.
  rm -f "$demo/display"
  setsid Xvfb -displayfd 3 -screen 0 1280x720x24 -nolisten tcp -noreset 3>"$demo/display" >/dev/null 2>&1 &
  echo $! >"$demo/xvfb.pid"
  for _ in $(seq 100); do grep -q '[0-9]' "$demo/display" 2>/dev/null && break; sleep 0.1; done
  n=$(tr -dc 0-9 <"$demo/display")
  [ -n "$n" ] || { echo "Xvfb did not start" >&2; exit 1; }
  DISPLAY=:$n setsid "$root/bin/hearthd" "${args[@]}" >"$demo/hearthd.log" 2>&1 &
  echo $! >"$demo/hearthd.pid"
  # A screenshot every 4 s; latest.png is always the newest.
  DISPLAY=:$n setsid bash -c 'i=0; while sleep 4; do /usr/bin/import -window root "$1/shot-$i.png" 2>/dev/null && cp "$1/shot-$i.png" "$1/latest.png"; i=$(( (i + 1) % 30 )); done' _ "$demo/shots" >/dev/null 2>&1 &
  echo $! >"$demo/shots.pid"
  where="under Xvfb :$n; screenshots every 4 s in $demo/shots/ (latest.png)"
fi

# The web caller, as Anna.
setsid "$root/bin/hearthctl" --broker "$broker" web --caller "$demo/keys/anna" --ws ws://127.0.0.1:$wsport \
  --listen 127.0.0.1:$webport >"$demo/web.log" 2>&1 &
echo $! >"$demo/web.pid"

# The nurse books a call in an hour: the screen says so until then. The
# same id each run, so re-running the demo books it again, not twice. A
# booking is not retained: it goes once the device is there and knows her.
for _ in $(seq 150); do grep -q "allowlist installed" "$demo/hearthd.log" 2>/dev/null && break; sleep 0.1; done
ctl book $device --caller "$demo/keys/nurse" --at "$(date -d '+1 hour' +%H:%M)" --for 10m \
  --reason "Medicine check" --id demo-visit >/dev/null || echo "demo: booking the nurse's call failed" >&2

sleep 3
cat <<MSG

Hearth demo is running $where.
  broker   $broker   (log $demo/mosquitto.log)
  hearthd  device "$device", data in $demo/data   (log $demo/hearthd.log)

Try:
  bin/hearthctl --broker $broker send message --to $device --days 1 --caller $demo/keys/anna "Hello Mum!"
  bin/hearthctl --broker $broker send photo --to $device --caption "Us" --caller $demo/keys/anna some.jpg
  bin/hearthctl --broker $broker content ls --device $device
  bin/hearthctl --broker $broker content edit --device $device --caller $demo/keys/anna --days 7 demo-sunset
  bin/hearthctl --broker $broker activity $device
Calls:
  open http://127.0.0.1:$webport/ in a browser: Anna's web caller
  bin/hearthctl --broker $broker call $device --caller $demo/keys/nurse --forced --reason "Morning medicine check" --for 20s
  bin/hearthctl --broker $broker call $device --caller $demo/keys/anna --for 20s --json
  bin/hearthctl --broker $broker book $device --caller $demo/keys/nurse --at 15:00 --reason "Tea and a chat"
Stop with: make demo-stop
MSG
