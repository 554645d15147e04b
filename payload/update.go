package payload

import (
	"fmt"
	"io"
	"strings"
)

// Update is a payload as a server reads it: numbers in Data are
// json.Number, so that integers keep all 64 bits, and the optional
// MetricTypesMember is kept.
type Update struct {
	Payload
	// MetricTypes maps keys to the OpenTelemetry type a client stated for
	// them (MetricType* names); nil when it stated none.
	MetricTypes map[string]string
}

// ParseUpdate decodes the body of an update for a server, within limits
// (see Limits; its zero value bounds nothing). It means what
// encoding/json means when it decodes the body into Update with
// UseNumber: members match their names regardless of case and apply in
// the order they come, a second data or metric_types object adds to the
// first, null empties them, and members of other names are skipped. It
// refuses, beyond that, a number that does not fit a float64.
func ParseUpdate(body []byte, limits Limits) (Update, error) {
	opts := limits.parseOptions()
	opts.UseNumber, opts.FiniteNumbers = true, true
	return parseTop(body, opts, limits.MaxBodyBytes, true)
}

// ParsePayload is ParseUpdate for a server that keeps numbers as float64,
// as encoding/json decodes them into Payload; metric_types is skipped.
func ParsePayload(body []byte, limits Limits) (Payload, error) {
	u, err := parseTop(body, limits.parseOptions(), limits.MaxBodyBytes, false)
	return u.Payload, err
}

// parseTop reads the top-level object of an update in one pass: the
// members it keeps are parsed as they come, and applied at once, so that
// repeated members combine as encoding/json combines them; the others are
// checked and skipped without building anything.
func parseTop(body []byte, opts ParseOptions, maxBytes int64, withTypes bool) (Update, error) {
	var u Update
	if maxBytes > 0 && int64(len(body)) > maxBytes {
		return u, ErrBodyTooLarge
	}
	r := readerPool.Get().(*valueReader)
	defer r.release()
	r.reset(body, opts)
	if r.dec.PeekKind() != '{' {
		v, err := r.value()
		if err == nil {
			err = r.end()
		}
		if err != nil {
			return u, r.describe(err)
		}
		return u, u.Payload.fill(v) // null is no update; anything else an error
	}
	if err := r.readMembers(&u, withTypes); err != nil {
		return u, err
	}
	return u, nil
}

func (r *valueReader) readMembers(u *Update, withTypes bool) error {
	if _, err := r.dec.ReadToken(); err != nil {
		return r.describe(err)
	}
	if err := r.count(); err != nil {
		return err
	}
	for r.dec.PeekKind() == '"' {
		name, err := r.name()
		if err != nil {
			return r.describe(err)
		}
		isTypes := strings.EqualFold(name, MetricTypesMember)
		if !isUpdateMember(name) || (isTypes && !withTypes) {
			if err := r.dec.SkipValue(); err != nil { // checked, as encoding/json checks it
				return r.describe(err)
			}
			continue
		}
		v, err := r.value()
		if err != nil {
			return r.describe(err)
		}
		if isTypes {
			err = u.addMetricTypes(v)
		} else {
			err = u.Payload.set(name, v)
		}
		if err != nil {
			return err
		}
	}
	return r.describe(r.close())
}

// addMetricTypes applies one metric_types member: null empties the map,
// an object adds to it, as encoding/json does with a map.
func (u *Update) addMetricTypes(v any) error {
	if v == nil {
		u.MetricTypes = nil
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("payload: %s is not an object of type names", MetricTypesMember)
	}
	if u.MetricTypes == nil {
		u.MetricTypes = make(map[string]string, len(obj))
	}
	for k, t := range obj {
		s, ok := t.(string)
		if !ok {
			return fmt.Errorf("payload: %s of key %q is not a type name", MetricTypesMember, k)
		}
		u.MetricTypes[k] = s
	}
	return nil
}

// updateMembers are the names encoding/json matches, regardless of case.
var updateMembers = []string{MemberInstanceID, MemberTimestamp, MemberExpectNext, MemberData, MetricTypesMember}

func isUpdateMember(name string) bool {
	for _, m := range updateMembers {
		if strings.EqualFold(name, m) {
			return true
		}
	}
	return false
}

// DecodePayload reads one JSON payload from r, up to MaxBodySize, as
// encoding/json decodes it into Payload: numbers in Data are float64, and
// Payload.Int reads them back as integers.
func DecodePayload(r io.Reader) (Payload, error) {
	body, err := readLimited(r)
	if err != nil {
		return Payload{}, err
	}
	p, err := ParsePayload(body, Limits{})
	if err != nil {
		return p, fmt.Errorf("payload: body is not valid JSON for a Payload: %w", err)
	}
	return p, nil
}
