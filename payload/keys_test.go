package payload

import "testing"

// validName mirrors the SDK's rule for instrument names.
func validName(name string) bool {
	if name == "" || len(name) > 255 || !isLetter(name[0]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		if !isPlain(name[i]) && name[i] != '/' {
			return false
		}
	}
	return true
}

func TestKeyNames(t *testing.T) {
	for key, name := range map[string]string{
		"requests":                     "requests",
		"http.server.duration":         "http.server.duration",
		"tls_client_hello_ua:3fa2c1b0": "tls_client_hello_ua/3A3fa2c1b0",
		"a/b":                          "a/2Fb",
		"1st":                          "k/_1st",
		"":                             "k/_",
		"_x":                           "k/__x",
		"é":                            "k/_/C3/A9",
	} {
		if got := KeyToInstrumentName(key); got != name {
			t.Errorf("KeyToInstrumentName(%q) = %q, want %q", key, got, name)
		}
		if got := InstrumentNameToKey(name); got != key {
			t.Errorf("InstrumentNameToKey(%q) = %q, want %q", name, got, key)
		}
	}
	if got := InstrumentNameToKey("native/path"); got != "native/path" {
		t.Errorf("a native name with a slash changed: %q", got)
	}
}

func FuzzKeyNames(f *testing.F) {
	for _, s := range []string{"", "a", "tls:x", "k/_", "1", "a/2F", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		name := KeyToInstrumentName(key)
		if got := InstrumentNameToKey(name); got != key {
			t.Fatalf("%q -> %q -> %q", key, name, got)
		}
		if len(name) <= 255 && !validName(name) {
			t.Fatalf("%q -> %q is not a legal instrument name", key, name)
		}
	})
}
