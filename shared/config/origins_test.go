package config_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/keygate/keygate/shared/config"
)

func TestLoadAllowedOrigins(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  []string
	}{
		{"unset allows no web origin", "", nil},
		{"one origin", "https://console.example.com", []string{"https://console.example.com"}},
		{"list with blanks, a trailing slash and a port", " https://a.example.com/ ,, http://127.0.0.1:8082", []string{"https://a.example.com", "http://127.0.0.1:8082"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.LoadFrom(env(map[string]string{config.EnvAllowedOrigins: tt.value}))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.AllowedOrigins, tt.want) {
				t.Errorf("AllowedOrigins = %q, want %q", c.AllowedOrigins, tt.want)
			}
		})
	}
}

func TestLoadAllowedOriginsRejected(t *testing.T) {
	for _, v := range []string{
		"console.example.com",              // no scheme
		"ftp://console.example.com",        // not a web scheme
		"https://console.example.com/app",  // a path is not part of an origin
		"https://console.example.com?x=1",  // nor a query
		"https://user@console.example.com", // nor credentials
		"https://Console.Example.com",      // browsers send the host in lower case
		"https://ok.example.com,*",         // no wildcard: the list is explicit
	} {
		t.Run(v, func(t *testing.T) {
			_, err := config.LoadFrom(env(map[string]string{config.EnvAllowedOrigins: v}))
			if err == nil || !strings.Contains(err.Error(), config.EnvAllowedOrigins) {
				t.Fatalf("err = %v, want one naming %s", err, config.EnvAllowedOrigins)
			}
		})
	}
}
