package api

import _ "embed"

// PathOpenAPI serves OpenAPI.
const PathOpenAPI = "/api/v1/openapi.json"

// OpenAPI is the terminal API described as an OpenAPI 3.0 document
// (openapi.json). The hub serves it at PathOpenAPI; a test in
// hub-server/internal/terminalapi checks every route against it and
// validates real requests and responses of the real handlers against it.
//
//go:embed openapi.json
var OpenAPI []byte
