# Scenario serve: opendnp3 master -> `rdnp3 serve` (the outstation simulator of the rdnp3
# binary). Sourced by run.sh, whose helpers (pick_address, pass, fail, $PY, $WORK, …) it uses.
#
# The simulator serves the demo database (demo_db.py) from a config file written here, one
# [[outstation.point]] per point, so the whole scenario b check applies: opendnp3's master
# checks the startup integrity poll (every point, value and flag), controls echoed into the
# output status points (CROB 3, analog output 2), CROB 12 refused, and the poll after them.
# A ramp on an extra class 0 analog would break the "no other point" check, so the scripts are
# covered by tests/cli_serve.rs instead.

# serve_demo_config HOST PORT: the demo database as an `rdnp3 serve` config.
serve_demo_config() {
  local i
  printf '[[outstation]]\nname = "demo"\nlisten = "%s:%s"\naddress = 1024\nmaster_address = 1\n' "$1" "$2"
  serve_point() { # serve_point TYPE INDEX VALUE
    printf '\n[[outstation.point]]\ntype = "%s"\nindex = %s\nclass = 1\nvalue = %s\n' "$1" "$2" "$3"
  }
  for ((i = 0; i < 10; i++)); do
    if ((i % 2)); then serve_point binary "$i" true; else serve_point binary "$i" false; fi
    serve_point counter "$i" $((100 * i))
    serve_point frozen-counter "$i" 0
    serve_point analog "$i" "$((3 * i / 2)).$((i % 2 * 5))"
    serve_point binary-output-status "$i" false
    serve_point analog-output-status "$i" 0.0
  done
  local states=(intermediate off on indeterminate)
  for ((i = 0; i < 4; i++)); do serve_point double-bit "$i" "\"${states[$i]}\""; done
}

scenario_serve() {
  echo "== interop: opendnp3 master -> rdnp3 serve"
  echo "building the rdnp3 binary (release, --features cli)"
  if ! cargo build --release --features cli --bin rdnp3 >"$WORK/build-cli.log" 2>&1; then
    fail "s: cargo build --release --features cli --bin rdnp3" "$WORK/build-cli.log" "cargo"
    return
  fi
  if ! pick_address; then
    fail "s: no free loopback address"
    return
  fi
  local config="$WORK/serve-demo.toml" log="$WORK/rdnp3-serve.log"
  serve_demo_config "$HOST" "$PORT" >"$config"
  timeout "$PEER_LIFETIME" "$TARGET_DIR/release/rdnp3" serve --config "$config" \
    --seconds "$PEER_LIFETIME" >"$log" 2>&1 &
  local peer=$!
  PIDS+=("$peer")
  if ! "$PY" "$HERE/demo_db.py" wait-listen "$HOST" "$PORT" "$READY_TIMEOUT" || ! kill -0 "$peer" 2>/dev/null; then
    fail "s: rdnp3 serve listening on $HOST:$PORT" "$log" "rdnp3 serve" "$config" "config"
    return
  fi
  echo "rdnp3 serve listening on $HOST:$PORT"

  local name="s1: opendnp3 master -> rdnp3 serve, integrity poll + SBO/direct controls + poll"
  local out="$WORK/s1.out" rc
  timeout $((PYMASTER_TIMEOUT + 15)) "$PY" -u "$HERE/opendnp3_master.py" --connect "$HOST:$PORT" \
    --outstation 1024 --master 1 --timeout "$PYMASTER_TIMEOUT" "${VERBOSE[@]}" >"$out" 2>&1
  rc=$?
  sed 's/^/    /' "$out"
  if [[ $rc -eq 0 ]]; then
    pass "$name"
  else
    fail "$name (exit code $rc)" "$log" "rdnp3 serve"
  fi
  stop_pid "$peer"
}
