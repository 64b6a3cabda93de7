// A webhook receiver for the alert tests: listens on 127.0.0.1 (a free port, written to
// PORTFILE), appends every POST as one JSON line {path, headers, body_b64, failed} to LOGFILE,
// and answers 500 to the first FAIL_FIRST requests of each path, 200 after. Stops on SIGTERM.
import { createServer } from 'node:http';
import { appendFileSync, writeFileSync } from 'node:fs';

const [portFile, logFile] = process.argv.slice(2);
const failFirst = Number(process.env.FAIL_FIRST || 0);
const seen = new Map();
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const n = (seen.get(req.url) || 0) + 1;
    seen.set(req.url, n);
    const fail = n <= failFirst;
    appendFileSync(logFile, JSON.stringify({ path: req.url, method: req.method, headers: req.headers,
      body_b64: body.toString('base64'), failed: fail }) + '\n');
    if (fail) {
      res.writeHead(500).end('not now');
    } else {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    }
  });
});
server.listen(0, '127.0.0.1', () => writeFileSync(portFile, String(server.address().port)));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
