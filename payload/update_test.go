package payload_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/payload"
)

// jsonUpdate is what encoding/json reads an update into: the members of
// payload.Update, with metric_types as a map.
type jsonUpdate struct {
	InstanceID  string            `json:"instance_id"`
	Timestamp   time.Time         `json:"timestamp"`
	ExpectNext  time.Time         `json:"expect_next"`
	Data        map[string]any    `json:"data"`
	MetricTypes map[string]string `json:"metric_types"`
}

// decodeJSONUpdate is encoding/json's reading of b, one value and nothing
// after it, with numbers as json.Number or as float64.
func decodeJSONUpdate(b []byte, useNumber bool) (jsonUpdate, error) {
	var u jsonUpdate
	dec := json.NewDecoder(bytes.NewReader(b))
	if useNumber {
		dec.UseNumber()
	}
	if err := dec.Decode(&u); err != nil {
		return u, err
	}
	if dec.Decode(new(any)) != io.EOF {
		return u, errors.New("data after the value")
	}
	return u, nil
}

// sameUpdateAsEncodingJSON checks that ParseUpdate reads what encoding/json
// reads with UseNumber, and refuses what encoding/json refuses, with or
// without UseNumber (a number beyond float64 is refused).
func sameUpdateAsEncodingJSON(t *testing.T, b []byte) {
	want, wantErr := decodeJSONUpdate(b, true)
	if _, err := decodeJSONUpdate(b, false); err != nil && wantErr == nil {
		wantErr = err
	}
	got, err := payload.ParseUpdate(b, payload.Limits{})
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%.200q: ParseUpdate error %v, encoding/json error %v", b, err, wantErr)
	}
	if err != nil {
		return
	}
	if got.InstanceID != want.InstanceID || !got.Timestamp.Equal(want.Timestamp) || !got.ExpectNext.Equal(want.ExpectNext) ||
		!reflect.DeepEqual(got.Data, want.Data) || !reflect.DeepEqual(got.MetricTypes, want.MetricTypes) {
		t.Fatalf("%.200q:\nParseUpdate  %+v\nencoding/json %+v", b, got, want)
	}
}

var updateSeeds = []string{
	`{"instance_id":"x","timestamp":"2026-01-01T00:00:00Z","data":{"a":1}}`,
	`{"data":{"a":1},"data":{"b":2}}`,
	`{"data":{"a":1},"data":null,"data":{"b":2}}`,
	`{"Data":{"a":1},"dATA":{"a":[1e5]},"metric_types":{"a":"gauge"},"METRIC_TYPES":{"b":"counter"}}`,
	`{"metric_types":{"a":"gauge"},"metric_types":null}`,
	`{"data":{"a":1e999999}}`,
	`{"other":1e999999,"data":{}}`,
	`{"data":{"a":1},"metric_types":{"a":1}}`,
	`{"data":{"a":1}} x`,
	`{"timestamp":null,"instance_id":null}`,
	`null`, `[]`, `7`, `{"data":[]}`, `{"data":{"\u00ff\ud800":"\xff"}}`,
	`{"data":{"a":123456789012345678901234567890}}`,
	`{"expect_next":"2026-01-01T00:00:00+01:00","data":{"k":{"s":[true,null,"x"]}}}`,
}

func TestParseUpdateMeansWhatEncodingJSONMeans(t *testing.T) {
	for _, s := range updateSeeds {
		sameUpdateAsEncodingJSON(t, []byte(s))
	}
}

func FuzzParseUpdate(f *testing.F) {
	for _, s := range updateSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(sameUpdateAsEncodingJSON)
}

func TestTwoDataMembersMerge(t *testing.T) {
	u, err := payload.ParseUpdate([]byte(`{"data":{"a":1,"b":1},"data":{"b":2,"c":3}}`), payload.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": json.Number("1"), "b": json.Number("2"), "c": json.Number("3")}
	if !reflect.DeepEqual(u.Data, want) {
		t.Errorf("data %v, want %v (encoding/json merges the second into the first)", u.Data, want)
	}
}

func TestNumbersBeyondFloat64AreRefused(t *testing.T) {
	for _, data := range []string{`{"a":1e999999}`, `{"a":-1e400}`, `{"a":[1,2,1E309]}`, `{"a":{"s":1e999999}}`, `{"a":1` + strings.Repeat("0", 400) + `}`} {
		_, err := payload.ParseUpdate([]byte(`{"data":`+data+`}`), payload.DefaultLimits())
		if err == nil || payload.ParseStatus(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "float64") {
			t.Errorf("%s: %v, want a 400 error about float64", data, err)
		}
	}
	if _, err := payload.ParseUpdate([]byte(`{"data":{"a":1e-999999,"b":1e308}}`), payload.DefaultLimits()); err != nil {
		t.Errorf("numbers within float64 refused: %v", err)
	}
}

func TestLimitsOfAnUpdate(t *testing.T) {
	limits := payload.DefaultLimits()
	// The attack was 7.8 MB of "1,": 3.9 million values. The default is
	// below that; the bound itself is checked at a small limit, which is
	// as able to fail and far cheaper to read under the race detector
	// (the receivers' tests post the attack itself).
	if payload.DefaultMaxValues >= 3_900_000 {
		t.Errorf("DefaultMaxValues %d takes the 3.9 million tiny values of a 7.8 MB body", payload.DefaultMaxValues)
	}
	small := payload.Limits{MaxValues: 1000}
	tiny := []byte(`{"data":{"k":[` + strings.Repeat("1,", 1000) + `1]}}`)
	if _, err := payload.ParseUpdate(tiny, small); !errors.Is(err, payload.ErrTooManyValues) || payload.ParseStatus(err) != http.StatusRequestEntityTooLarge {
		t.Errorf("1,002 values over a limit of 1,000: %v, want ErrTooManyValues (413)", err)
	}
	if _, err := payload.ParsePayload(tiny, small); !errors.Is(err, payload.ErrTooManyValues) {
		t.Errorf("ParsePayload, 1,002 values over a limit of 1,000: %v", err)
	}
	if _, err := payload.ParseUpdate(tiny, payload.Limits{MaxValues: 1010}); err != nil {
		t.Errorf("1,004 values within a limit of 1,010: %v", err)
	}
	long := strings.Repeat("k", 1<<20)
	for _, data := range []string{`{"` + long + `":1}`, `{"a":{"` + long + `":1}}`, `{"a":[{"attributes":{"` + long + `":"x"},"value":1}]}`} {
		if _, err := payload.ParseUpdate([]byte(`{"data":`+data+`}`), limits); !errors.Is(err, payload.ErrNameTooLong) || payload.ParseStatus(err) != http.StatusBadRequest {
			t.Errorf("a 1 MiB name: %v, want ErrNameTooLong (400)", err)
		}
	}
	atLimit := strings.Repeat("k", payload.DefaultMaxNameBytes)
	if _, err := payload.ParseUpdate([]byte(`{"data":{"`+atLimit+`":1}}`), limits); err != nil {
		t.Errorf("a name at the limit: %v", err)
	}
	limits.MaxBodyBytes = 10
	if _, err := payload.ParseUpdate([]byte(`{"data":{"a":1}}`), limits); payload.ParseStatus(err) != http.StatusRequestEntityTooLarge {
		t.Errorf("body over MaxBodyBytes: %v, want 413", err)
	}
}

func TestCheckRequestTakesOnlyTheCanonicalUUIDInThePath(t *testing.T) {
	id := uuid.MustParse("6a0f5f7e-7c1b-4c55-9b55-3f6f3a5e2b11")
	spellings := []string{
		id.String(), strings.ToUpper(id.String()), "urn:uuid:" + id.String(), "{" + id.String() + "}",
		strings.ReplaceAll(id.String(), "-", ""),
	}
	for i, s := range spellings {
		req := httptest.NewRequest(http.MethodPost, "/v1/update/"+s, nil)
		req.Header.Set("Content-Type", "application/json")
		got, status, err := payload.CheckRequest(req, "/v1/update/")
		if i == 0 && (err != nil || got != id) {
			t.Errorf("canonical path refused: %d %v", status, err)
		}
		if i > 0 && (status != http.StatusBadRequest || !strings.Contains(fmt_(err), id.String())) {
			t.Errorf("path %q: %d %v, want 400 naming the canonical form", s, status, err)
		}
		// In the body, every spelling names the instance.
		if err := payload.CheckInstanceID(s, id); err != nil {
			t.Errorf("instance_id %q: %v", s, err)
		}
	}
	if err := payload.CheckInstanceID(uuid.NewString(), id); err == nil {
		t.Error("another instance's id was taken")
	}
}

func fmt_(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
