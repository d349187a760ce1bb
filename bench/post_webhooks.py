"""Posts N signed Twilio webhooks of a `bench_ingest webhooks` file (lines
"<signature> <form body>", from line START on) to 127.0.0.1:PORT over C
keep-alive connections; exits 1 unless every answer is 2xx.

Usage: post_webhooks.py PORT PATH FILE START N C
"""
import http.client
import sys
import threading

port, path, file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
start, count, connections = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
with open(file, encoding="ascii") as f:
    lines = f.read().splitlines()[start:start + count]
if len(lines) != count:
    sys.exit(f"{file} holds {len(lines)} webhooks from line {start}, not {count}")
refused = []


def post(k):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    for line in lines[k::connections]:
        signature, body = line.split(" ", 1)
        conn.request("POST", path, body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        })
        answer = conn.getresponse()
        answer.read()
        if answer.status // 100 != 2:
            refused.append(answer.status)


threads = [threading.Thread(target=post, args=(k,)) for k in range(connections)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if refused:
    sys.exit(f"{len(refused)} webhooks not accepted, e.g. {refused[:5]}")
