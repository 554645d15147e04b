package compat_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/google/uuid"

	telemetry "github.com/telemetrybridge/telemetry/compat"
	"github.com/telemetrybridge/telemetry/exporter"
	"github.com/telemetrybridge/telemetry/receiver"
)

// The documented flow, unchanged but for the import line: Init, record,
// StartEmitting, StopEmitting.
func Example() {
	server := receiver.New()
	srv := httptest.NewServer(server)
	defer srv.Close()
	id := uuid.New()

	// Init(id, nil) is all a program needs; the option here points the
	// package at the test server (TELEMETRY_ENDPOINT would do the same).
	telemetry.InitWithOptions(id, []string{"secret"},
		telemetry.WithExporterOptions(exporter.WithEndpoint(srv.URL+receiver.DefaultPrefix)))
	telemetry.Set("version", "1.2.3")
	telemetry.Set("secret", "not sent")
	telemetry.StartEmitting() // the first update goes out now, in the background
	for len(server.Payloads(id)) == 0 {
		time.Sleep(time.Millisecond) // (only so that this example's output is stable)
	}

	telemetry.Increment("requests")
	telemetry.AppendUnique("user_agent", telemetry.FastHash([]byte("curl/8")))
	telemetry.StopEmitting() // the final update

	for i, p := range server.Payloads(id) {
		fmt.Println("update", i+1, "version:", p.Data["version"], "requests:", p.Int("requests"), "user agents:", p.Data["user_agent"])
	}
	// Output:
	// update 1 version: 1.2.3 requests: 0 user agents: <nil>
	// update 2 version: <nil> requests: 1 user agents: [map[count:1 value:3c2972ec]]
}

// New builds an instance of its own over an exporter made in code, as a
// test or a program reporting as several instances needs; the package's
// global calls are not involved.
func ExampleNew() {
	server := receiver.New()
	srv := httptest.NewServer(server)
	defer srv.Close()
	id := uuid.New()
	exp, err := exporter.New(exporter.WithEndpoint(srv.URL+receiver.DefaultPrefix), exporter.WithInstanceID(id))
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := telemetry.New(exp)
	if err != nil {
		fmt.Println(err)
		return
	}
	client.Increment("requests")
	client.Start() // the first update goes out now, in the background
	for len(server.Payloads(id)) == 0 {
		time.Sleep(time.Millisecond) // (only so that this example's output is stable)
	}
	client.Add("requests", 2)
	if err := client.Shutdown(context.Background()); err != nil { // the final update
		fmt.Println(err)
	}

	for i, p := range server.Payloads(id) {
		fmt.Println("update", i+1, "requests:", p.Int("requests"))
	}
	// Output:
	// update 1 requests: 1
	// update 2 requests: 2
}
