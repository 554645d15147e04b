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
// than POST, 404 outside the prefix, 400 for a bad UUID (the path must
// carry the canonical lower-case form) or body (a number beyond float64,
// a member name over payload.DefaultMaxNameBytes), 413 for a body over
// the limit in bytes or in JSON values (payload.Limits, the Collector
// receiver's too), 415 for a content type other than JSON. Payloads are
// stored with the canonical instance_id, whatever spelling of the UUID
// the body used.
//
// The receiver honours Idempotency-Key (payload.Window): an update whose
// key it stored before gets the same answer and is not stored again, one
// whose key is being handled gets 409 with Retry-After. The window is
// bounded (WithIdempotency) and in memory: a new Receiver, like a
// restarted server, has forgotten every key. WithSchedule spreads
// next_update and answers instances that report much too early with 429;
// it is off by default.
//
// For tests of clients, InjectFaults scripts the next answers: a status,
// a Retry-After header, a delay, a broken body.
package receiver
