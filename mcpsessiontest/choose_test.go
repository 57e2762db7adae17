package mcpsessiontest

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// fakeEngine is an engine that holds some images and can pull others: the
// choices are about what an engine answers, and no engine here can be
// made to lack a registry on demand.
type fakeEngine struct {
	held, pullable map[string]bool
	pulled         []string
}

func (f *fakeEngine) has(_ context.Context, image string) bool { return f.held[image] }

func (f *fakeEngine) pull(_ context.Context, image string) error {
	f.pulled = append(f.pulled, image)
	if !f.pullable[image] {
		return errors.New("dial tcp: lookup registry: no such host")
	}
	f.held[image] = true
	return nil
}

func set(images ...string) map[string]bool {
	m := map[string]bool{}
	for _, i := range images {
		m[i] = true
	}
	return m
}

func TestChooseImage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		named          string
		held, pullable map[string]bool
		want           string // "" means errNoImage
		wantPull       bool
	}{
		{name: "named wins, nothing asked", named: "my/pg:16", held: set(defaultImage), want: "my/pg:16"},
		{name: "default on the engine", held: set(defaultImage, offlineImage), want: defaultImage},
		{name: "offline image when the default is absent", held: set(offlineImage), pullable: set(defaultImage), want: offlineImage},
		{name: "registry: default pulled", held: set(), pullable: set(defaultImage), want: defaultImage, wantPull: true},
		{name: "no registry, no offline image", held: set(), pullable: set(), want: "", wantPull: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &fakeEngine{held: tc.held, pullable: tc.pullable}
			got, err := chooseImage(t.Context(), tc.named, e)
			if tc.want == "" {
				if !errors.Is(err, errNoImage) {
					t.Fatalf("chooseImage = %q, %v; want errNoImage", got, err)
				}
				for _, hint := range []string{"make postgres-image", imageEnv, "no such host"} {
					if !strings.Contains(err.Error(), hint) {
						t.Errorf("error %q does not say %q", err, hint)
					}
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error %q is more than one line", err)
				}
			} else if got != tc.want || err != nil {
				t.Fatalf("chooseImage = %q, %v; want %q", got, err, tc.want)
			}
			if pulled := len(e.pulled) > 0; pulled != tc.wantPull {
				t.Errorf("pulled %v; want a pull: %v", e.pulled, tc.wantPull)
			}
		})
	}
}

func TestRyukUsable(t *testing.T) {
	t.Setenv(hubPrefixEnv, "")
	ryuk := "testcontainers/ryuk:0.14.0"
	if !strings.HasSuffix(ryukImage(), ryuk) {
		t.Fatalf("ryukImage() = %q; the test expects testcontainers' %s", ryukImage(), ryuk)
	}
	for _, tc := range []struct {
		name           string
		held, pullable map[string]bool
		want           bool
	}{
		{"on the engine", set(ryuk), set(), true},
		{"pullable", set(), set(ryuk), true},
		{"neither", set(), set(), false},
	} {
		if got := ryukUsable(t.Context(), &fakeEngine{held: tc.held, pullable: tc.pullable}); got != tc.want {
			t.Errorf("%s: ryukUsable = %v; want %v", tc.name, got, tc.want)
		}
	}
	t.Setenv(hubPrefixEnv, "mirror.example/hub")
	if got, want := ryukImage(), "mirror.example/hub/"+ryuk; got != want {
		t.Errorf("with %s: ryukImage() = %q; want %q", hubPrefixEnv, got, want)
	}
}

func TestLocalPorts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url                 string
		dockerenv, sameHost bool
		want                bool
	}{
		{"unix:///var/run/docker.sock", true, true, true},
		{"unix:///var/run/docker.sock", true, false, false}, // a real container: testcontainers knows best
		{"unix:///var/run/docker.sock", false, true, false}, // testcontainers dials localhost already
		{"tcp://10.0.0.5:2376", true, true, false},          // testcontainers dials that host
	} {
		if got := localPorts(tc.url, tc.dockerenv, tc.sameHost); got != tc.want {
			t.Errorf("localPorts(%q, dockerenv %v, same host %v) = %v; want %v", tc.url, tc.dockerenv, tc.sameHost, got, tc.want)
		}
	}
}
