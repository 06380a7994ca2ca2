# Sourced by the bench scripts: `wait_ready PID LOG` waits until the vizier server PID listens
# on 8080 and answers /ready. Ready means this server: another one already on the port would
# answer instead and be measured under this run's label. Exits when PID has died.
wait_ready() {
  for _ in $(seq 1 600); do
    ss -Hltnp 'sport = :8080' | grep -q "pid=$1," && curl -sf localhost:8080/ready >/dev/null && return 0
    kill -0 "$1" 2>/dev/null || { echo "the server exited (port 8080 taken?), see $2" >&2; exit 1; }
    sleep 0.05
  done
  echo "the server did not become ready in 30 s, see $2" >&2; exit 1
}
