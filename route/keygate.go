package route

// The scope of keygate's own metered route.
const UsageRead = "usage:read"

// Keygate is keygate's own API, in the order the 404 message lists it. Key
// management and the audit log need a signed-in user (their handlers refuse
// any key, after the meter counted it, as every key request on a route behind
// the authorizer is), so they need no scope; GET /v1/usage is the one route a
// key exists for.
var Keygate = Table{
	{Function: "createkey", Method: "POST", Path: "/v1/api-keys", Description: "Create a personal API key"},
	{Function: "listkeys", Method: "GET", Path: "/v1/api-keys", Description: "List your API keys"},
	{Function: "updatekey", Method: "PATCH", Path: "/v1/api-keys/{prefix}", Description: "Change an API key"},
	{Function: "revokekey", Method: "DELETE", Path: "/v1/api-keys/{prefix}", Description: "Revoke an API key"},
	{Function: "rotatekey", Method: "POST", Path: "/v1/api-keys/{prefix}/rotate", Description: "Rotate an API key"},
	{Function: "usage", Method: "GET", Path: "/v1/usage", Scope: UsageRead, Cost: 1, Description: "Read the key's own usage and limit"},
	{Function: "scopes", Method: "GET", Path: "/v1/scopes", Unmetered: true, Description: "List the scopes keys may be limited to"},
	{Function: "auditlog", Method: "GET", Path: "/v1/audit-log", Description: "Read the audit log of your API keys"},
	{Function: "wslistkeys", Method: "GET", Path: "/api/v1/workspaces/{id}/api-keys", Description: "List a workspace's API keys"},
	{Function: "wscreatekey", Method: "POST", Path: "/api/v1/workspaces/{id}/api-keys", Description: "Create a workspace API key"},
	{Function: "wsrevokekey", Method: "DELETE", Path: "/api/v1/workspaces/{id}/api-keys/{keyId}", Description: "Revoke a workspace API key"},
	{Function: "wsrotatekey", Method: "POST", Path: "/api/v1/workspaces/{id}/api-keys/{keyId}/rotate", Description: "Rotate a workspace API key"},
	{Function: "wsauditlog", Method: "GET", Path: "/api/v1/workspaces/{id}/audit-log", Description: "Read a workspace's audit log"},
	{Function: "secretscan", Method: "POST", Path: "/v1/secret-scanning/github", Public: true, MaxBody: 1 << 20, Description: "GitHub secret scanning reports"},
}
