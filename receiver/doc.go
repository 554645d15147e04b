// Package receiver is a reference telemetry server for the instance
// telemetry protocol, as an http.Handler: mount it in a program, or start
// it with httptest in a test of a client.
//
// It accepts POST <prefix><instance UUID> with a JSON payload, fills in
// expect_next (the time of receipt plus the next_update it answers with)
// as the protocol has servers do, keeps the latest payloads of each
// instance in memory, and answers with a configurable Response, settable
// per instance while running. Malformed requests get a 4xx status and a
// JSON Response whose error says what is wrong: 405 for a method other
// than POST, 404 outside the prefix, 400 for a bad UUID or body, 413 for a
// body over the limit, 415 for a content type other than JSON.
//
// For tests of clients, InjectFaults scripts the next answers: a status,
// a Retry-After header, a delay, a broken body.
package receiver
