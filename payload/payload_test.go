package payload_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/telemetrybridge/telemetry/payload"
)

func TestIntReadsIntegersAlsoAfterJSONRoundTrip(t *testing.T) {
	p := payload.Payload{Data: map[string]any{
		"int": 7, "int64": int64(-3), "uint8": uint8(9), "float": 2.5, "str": "4", "whole": 4.0,
	}}
	for key, want := range map[string]int{"int": 7, "int64": -3, "uint8": 9, "float": 0, "str": 0, "whole": 4, "missing": 0} {
		if got := p.Int(key); got != want {
			t.Errorf("Int(%q) = %d, want %d", key, got, want)
		}
	}
	b, _ := json.Marshal(p)
	back, err := payload.DecodePayload(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if back.Int("int") != 7 || back.Int("int64") != -3 || back.Int("float") != 0 {
		t.Errorf("after a round trip: %v", back.Data)
	}
}

func TestPayloadJSONFields(t *testing.T) {
	ts := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	b, _ := json.Marshal(payload.Payload{InstanceID: "id", Timestamp: ts})
	// The documented tag is omitempty, which does not omit a zero time.Time:
	// like the original, a client sends the zero time and the server fills it.
	if got, want := string(b), `{"instance_id":"id","timestamp":"2026-11-24T10:00:00Z","expect_next":"0001-01-01T00:00:00Z"}`; got != want {
		t.Errorf("empty payload %s, want %s", got, want)
	}
	b, _ = json.Marshal(payload.Response{NextUpdate: time.Second, Stop: true, Error: "e", DisableKeys: []string{"a"}, EnableKeys: []string{"b"}})
	if got, want := string(b), `{"next_update":1000000000,"stop":true,"error":"e","disable_keys":["a"],"enable_keys":["b"]}`; got != want {
		t.Errorf("response %s, want %s", got, want)
	}
}

func TestCountingSetJSONIsDeterministic(t *testing.T) {
	type ua struct{ Name string }
	s := payload.CountingSet{"b": 2, 5: 1, "a": 3, ua{"x"}: 1}
	want := `[{"value":"a","count":3},{"value":"b","count":2},{"value":5,"count":1},{"value":{"Name":"x"},"count":1}]`
	for range 20 { // map order varies from run to run
		b, err := json.Marshal(s)
		if err != nil || string(b) != want {
			t.Fatalf("got %s (%v), want %s", b, err, want)
		}
	}
	var back payload.CountingSet
	if err := json.Unmarshal([]byte(want), &back); err != nil {
		t.Fatal(err)
	}
	if back["a"] != 3 || back[5.0] != 1 || back[`{"Name":"x"}`] != 1 {
		t.Errorf("decoded %v", back)
	}
	if _, err := json.Marshal(payload.CountingSet{make(chan int): 1}); err == nil {
		t.Error("an unencodable value did not fail")
	}
}

func TestDecodeHelpers(t *testing.T) {
	if _, err := payload.DecodePayload(strings.NewReader("{")); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Errorf("bad JSON: %v", err)
	}
	huge := strings.NewReader(`{"data":{"k":"` + strings.Repeat("x", payload.MaxBodySize) + `"}}`)
	if _, err := payload.DecodePayload(huge); err != payload.ErrBodyTooLarge {
		t.Errorf("huge body: %v", err)
	}
	w := httptest.NewRecorder()
	if err := payload.WriteResponse(w, 202, payload.Response{NextUpdate: time.Minute}); err != nil {
		t.Fatal(err)
	}
	resp, err := payload.DecodeResponse(w.Body)
	if w.Code != 202 || w.Header().Get("Content-Type") != "application/json" || err != nil || resp.NextUpdate != time.Minute {
		t.Errorf("WriteResponse: %d %q %v %+v", w.Code, w.Header().Get("Content-Type"), err, resp)
	}
}

func FuzzDecodePayload(f *testing.F) {
	f.Add([]byte(`{"instance_id":"x","timestamp":"2026-01-01T00:00:00Z","data":{"a":1}}`))
	f.Add([]byte(`{"data":{"a":[{"value":1,"count":2}]}}`))
	f.Add([]byte(`{"Data":{"a":1},"data":{"b":2},"TIMESTAMP":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := payload.DecodePayload(bytes.NewReader(b))
		var want payload.Payload
		wantErr := json.Unmarshal(b, &want)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%.100q: DecodePayload error %v, encoding/json error %v", b, err, wantErr)
		}
		if err != nil {
			return
		}
		if p.InstanceID != want.InstanceID || !p.Timestamp.Equal(want.Timestamp) || !p.ExpectNext.Equal(want.ExpectNext) || !reflect.DeepEqual(p.Data, want.Data) {
			t.Fatalf("%.100q: DecodePayload gives %+v, encoding/json %+v", b, p, want)
		}
		for k := range p.Data {
			_ = p.Int(k) // must not panic on any decoded value
		}
		if _, err := json.Marshal(p); err != nil {
			t.Fatalf("a decoded payload does not encode again: %v", err)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add([]byte(`{"next_update":3600000000000,"disable_keys":["a"],"enable_keys":["b"]}`))
	f.Add([]byte(`{"stop":true,"error":"gone"}`))
	f.Add([]byte(`{"next_update":-1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := payload.DecodeResponse(bytes.NewReader(b))
		if err != nil {
			return
		}
		again, err := json.Marshal(resp)
		if err != nil {
			t.Fatalf("a decoded response does not encode: %v", err)
		}
		back, err := payload.DecodeResponse(bytes.NewReader(again))
		if err != nil || back.NextUpdate != resp.NextUpdate || back.Stop != resp.Stop || len(back.DisableKeys) != len(resp.DisableKeys) {
			t.Fatalf("round trip changed %+v into %+v (%v)", resp, back, err)
		}
	})
}

// Names that differ only in case all apply, in the order they come, as
// encoding/json applies them: for a server too.
func TestMembersApplyInDocumentOrder(t *testing.T) {
	body := []byte(`{"Data":{"a":1,"b":2},"dAta":{"a":9},"INSTANCE_ID":"x","instance_id":"y","Metric_Types":{"a":"gauge"},"metric_types":{"a":"counter"}}`)
	for range 20 { // map order would show within a few tries
		u, err := payload.ParseUpdate(body, payload.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if u.InstanceID != "y" || u.Data["a"] != json.Number("9") || u.Data["b"] != json.Number("2") || u.MetricTypes["a"] != "counter" {
			t.Fatalf("ParseUpdate = %+v", u)
		}
		p, err := payload.DecodePayload(bytes.NewReader(body))
		if err != nil || p.InstanceID != "y" || p.Data["a"] != 9.0 || p.Data["b"] != 2.0 {
			t.Fatalf("DecodePayload = %+v, %v", p, err)
		}
	}
}
