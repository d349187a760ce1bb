-- wrk script of the ingest benchmark: posts the signed Twilio webhooks of
-- the file given after `--` (one per line: "<signature> <form body>", as
-- `bench_ingest webhooks` writes them), each once, to wrk's URL. Should the
-- file run out before wrk's duration, the last one is repeated (a duplicate,
-- acknowledged and stored once); bench/run.sh counts only the distinct ones.
local requests, count, sent, verified = {}, 0, 0, false

function init(args)
   for line in io.lines(args[1]) do
      local signature, body = line:match("^(%S+) (%S+)$")
      count = count + 1
      requests[count] = wrk.format("POST", wrk.path, {
         ["Content-Type"] = "application/x-www-form-urlencoded",
         ["X-Twilio-Signature"] = signature,
      }, body)
   end
end

function request()
   -- wrk calls request() once before the run to check the script's
   -- request (and sends nothing): that call must not use up a webhook.
   if not verified then
      verified = true
      return requests[1]
   end
   if sent < count then
      sent = sent + 1
   end
   return requests[sent]
end
