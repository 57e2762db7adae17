package janitor

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
)

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	fc := newFakeCleaner()
	j, err := New(fc, WithTTL(time.Hour))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if j.interval != defaultInterval || defaultInterval != time.Minute {
		t.Errorf("interval = %v, want %v", j.interval, time.Minute)
	}
	if j.jitter != defaultJitter || defaultJitter != 0.1 {
		t.Errorf("jitter = %v, want 0.1", j.jitter)
	}
	if j.logger == nil || j.logger.Enabled(context.Background(), slog.LevelError) {
		t.Errorf("default logger should discard")
	}
	// No callback is fine.
	if n, err := j.Sweep(guardCtx(t)); n != 0 || err != nil {
		t.Errorf("Sweep = %d, %v; want 0, nil", n, err)
	}
}

func TestNewTTLFromIdleTimeout(t *testing.T) {
	t.Parallel()
	fc := newFakeCleaner()
	j, err := New(idleCleaner{fc, 30 * time.Minute})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if got := j.ttl; got != 30*time.Minute {
		t.Errorf("ttl = %v, want 30m", got)
	}
	if _, err := j.Sweep(guardCtx(t)); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if got := recv(t, fc.started); got != 30*time.Minute {
		t.Errorf("Cleanup got ttl %v, want the idle timeout 30m", got)
	}
}

func TestWithTTLOverridesIdleTimeout(t *testing.T) {
	t.Parallel()
	for _, idle := range []time.Duration{30 * time.Minute, 0, time.Microsecond} {
		fc := newFakeCleaner()
		j, err := New(idleCleaner{fc, idle}, WithTTL(2*time.Hour))
		if err != nil {
			t.Fatalf("idle %v: New: %v", idle, err)
		}
		if got := j.ttl; got != 2*time.Hour {
			t.Errorf("idle %v: ttl = %v, want 2h", idle, got)
		}
		if _, err := j.Sweep(guardCtx(t)); err != nil {
			t.Fatalf("Sweep: %v", err)
		}
		if got := recv(t, fc.started); got != 2*time.Hour {
			t.Errorf("idle %v: Cleanup got ttl %v, want 2h", idle, got)
		}
	}
}

func TestWithOptionGivenTwiceLastWins(t *testing.T) {
	t.Parallel()
	j, err := New(newFakeCleaner(), WithTTL(time.Hour), WithTTL(time.Minute), WithInterval(time.Second), WithInterval(time.Hour))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if j.ttl != time.Minute || j.interval != time.Hour {
		t.Errorf("ttl, interval = %v, %v; want 1m, 1h", j.ttl, j.interval)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	plain := newFakeCleaner()
	ok := WithTTL(time.Hour)
	tests := []struct {
		name    string
		cleaner mcpsession.Cleaner
		opts    []Option
		want    []error
	}{
		{"nil cleaner", nil, []Option{ok}, []error{mcpsession.ErrInvalidOption}},
		{"nil option", plain, []Option{ok, nil}, []error{mcpsession.ErrInvalidOption}},
		{"no ttl", plain, nil, []error{errNoTTL, mcpsession.ErrInvalidOption}},
		{"idle timeout zero", idleCleaner{plain, 0}, nil, []error{errNoTTL, mcpsession.ErrInvalidOption}},
		{"idle timeout negative", idleCleaner{plain, -time.Hour}, nil, []error{errNoTTL, mcpsession.ErrInvalidOption}},
		{"idle timeout under 1ms", idleCleaner{plain, time.Microsecond}, nil, []error{mcpsession.ErrInvalidOption, mcpsession.ErrInvalidArgument}},
		{"ttl zero", plain, []Option{WithTTL(0)}, []error{mcpsession.ErrInvalidOption, mcpsession.ErrInvalidArgument}},
		{"ttl negative", plain, []Option{WithTTL(-time.Hour)}, []error{mcpsession.ErrInvalidOption, mcpsession.ErrInvalidArgument}},
		{"ttl under 1ms", plain, []Option{WithTTL(time.Millisecond - 1)}, []error{mcpsession.ErrInvalidOption, mcpsession.ErrInvalidArgument}},
		{"bad ttl despite idle timeout", idleCleaner{plain, time.Hour}, []Option{WithTTL(time.Microsecond)}, []error{mcpsession.ErrInvalidOption}},
		{"interval zero", plain, []Option{ok, WithInterval(0)}, []error{mcpsession.ErrInvalidOption}},
		{"interval negative", plain, []Option{ok, WithInterval(-time.Second)}, []error{mcpsession.ErrInvalidOption}},
		{"jitter negative", plain, []Option{ok, withJitter(-0.1)}, []error{mcpsession.ErrInvalidOption}},
		{"jitter one", plain, []Option{ok, withJitter(1)}, []error{mcpsession.ErrInvalidOption}},
		{"jitter NaN", plain, []Option{ok, withJitter(math.NaN())}, []error{mcpsession.ErrInvalidOption}},
		{"jitter infinite", plain, []Option{ok, withJitter(math.Inf(1))}, []error{mcpsession.ErrInvalidOption}},
		{"nil logger", plain, []Option{ok, WithLogger(nil)}, []error{mcpsession.ErrInvalidOption}},
		{"nil callback", plain, []Option{ok, WithOnSweep(nil)}, []error{mcpsession.ErrInvalidOption}},
		{"nil sweeper", plain, []Option{ok, WithSweeper(nil)}, []error{mcpsession.ErrInvalidOption}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j, err := New(tt.cleaner, tt.opts...)
			if err == nil {
				t.Fatalf("New succeeded, want an error")
			}
			if j != nil {
				t.Errorf("New returned a Janitor with its error")
			}
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Errorf("error %q does not match %q", err, want)
				}
			}
		})
	}
}

func TestNewAcceptsBoundaryValues(t *testing.T) {
	t.Parallel()
	_, err := New(newFakeCleaner(), WithTTL(time.Millisecond), WithInterval(1), withJitter(0))
	if err != nil {
		t.Errorf("New: %v", err)
	}
	_, err = New(idleCleaner{newFakeCleaner(), time.Millisecond}, withJitter(0.999))
	if err != nil {
		t.Errorf("New: %v", err)
	}
}
