// Akamai EdgeAuth 2.0 tokens made by the reference library akamai-edgeauth, for
// akamai_interop_test.sh.
//
//   node akamai.mjs acl OPTIONS_JSON ACL     generateACLToken(ACL); ACL may be a JSON array
//   node akamai.mjs url OPTIONS_JSON URL     generateURLToken(URL)
//
// OPTIONS_JSON is passed to `new EdgeAuth(...)`: key (hex), algorithm, startTime, endTime, ip,
// sessionId, payload, salt, escapeEarly, ... The token is printed on stdout.
import EdgeAuth from 'akamai-edgeauth';

function main() {
  const [cmd, optsJson, target] = process.argv.slice(2);
  const ea = new EdgeAuth(JSON.parse(optsJson));
  let token;
  if (cmd === 'acl') token = ea.generateACLToken(target.startsWith('[') ? JSON.parse(target) : target);
  else if (cmd === 'url') token = ea.generateURLToken(target);
  else throw new Error(`unknown command '${cmd}'`);
  process.stdout.write(token + '\n');
}

try {
  main();
} catch (err) {
  process.stderr.write(`akamai.mjs: ${err.stack || err}\n`);
  process.exit(2);
}
