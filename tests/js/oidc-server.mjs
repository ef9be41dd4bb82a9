// A real OpenID Connect provider on loopback for the SSO test: discovery, JWKS, the
// authorization-code flow with signed ID tokens (oauth2-mock-server).
// Usage: node oidc-server.mjs PORT   (0 picks a free port; prints "ready <issuer>" when listening)
import { OAuth2Server } from "oauth2-mock-server";

const port = Number(process.argv[2] || 0);
const server = new OAuth2Server();
await server.issuer.keys.generate("RS256");
server.service.on("beforeTokenSigning", (token) => {
  token.payload.sub = "mock-user-42";
  token.payload.email = "sso.user@example.org";
  token.payload.email_verified = true;
  token.payload.name = "SSO User";
});
// For the GitHub-style (plain OAuth 2.0) flow, the user endpoint answers like GitHub's.
server.service.on("beforeUserinfo", (res) => {
  res.body = { id: 4242, login: "octo", name: "Octo Cat", email: "octo@example.org" };
});
await server.start(port, "127.0.0.1");
console.log(`ready ${server.issuer.url}`);
process.on("SIGTERM", async () => { await server.stop(); process.exit(0); });
