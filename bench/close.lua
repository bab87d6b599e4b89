-- bench/close.lua — wrk script: every request says "Connection: close", so each request
-- costs a new TCP connection and a new TLS handshake (wrk reconnects after the server's
-- close).  Requests/sec of this scenario = TLS handshakes/sec (+ one small response each).
--   wrk -t1 -c64 -d5s --latency -s bench/close.lua https://127.0.0.1:PORT/index.html
wrk.headers["Connection"] = "close"
