package netstate

import (
	"testing"
	"time"
)

// TestOrigins follows Kea 2.2's NetworkStateImpl::setDisableService: any
// origin disables; only all of them clearing enables; the database origin
// counts connections.
func TestOrigins(t *testing.T) {
	s := New()
	if !s.Enabled() {
		t.Fatal("new state disabled")
	}
	s.Disable(User)
	s.Disable(HA)
	s.Enable(User)
	if s.Enabled() {
		t.Fatal("enabled while HA still disables")
	}
	s.Disable(DBConnection)
	s.Disable(DBConnection)
	s.Enable(HA)
	s.Enable(DBConnection)
	if s.Enabled() {
		t.Fatal("enabled with one database connection still lost")
	}
	s.Enable(DBConnection)
	if !s.Enabled() {
		t.Fatal("still disabled after every origin cleared")
	}
	s.Enable(DBConnection) // never below zero
	s.Disable(DBConnection)
	if s.Enabled() {
		t.Fatal("database counter went below zero")
	}
	s.Reset(DBConnection)
	if !s.Enabled() {
		t.Fatal("Reset(DBConnection) left the service disabled")
	}
}

func TestMaxPeriod(t *testing.T) {
	s := New()
	if err := s.DisableFor(User, 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if s.Enabled() {
		t.Fatal("enabled right after dhcp-disable")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !s.Enabled() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !s.Enabled() {
		t.Fatal("max-period did not enable the service")
	}

	// dhcp-enable (EnableAll) cancels the timer: a later disable without
	// max-period is not undone by the old timer.
	_ = s.DisableFor(User, 30*time.Millisecond)
	s.EnableAll(User)
	s.Disable(User)
	time.Sleep(80 * time.Millisecond)
	if s.Enabled() {
		t.Fatal("a cancelled max-period timer enabled the service")
	}
	s.EnableAll(User)

	// The timer enables only its own origin.
	_ = s.DisableFor(HA, 20*time.Millisecond)
	s.Disable(User)
	time.Sleep(80 * time.Millisecond)
	if s.Enabled() {
		t.Fatal("HA's max-period enabled a user disable")
	}
	if err := s.DisableFor(DBConnection, time.Second); err == nil {
		t.Error("the database origin took a max-period")
	}
	s.Stop()
}

func TestSubscribe(t *testing.T) {
	s := New()
	var got []bool
	s.Subscribe(func(on bool) { got = append(got, on) })
	s.Disable(User)
	s.Disable(HA) // no change: no call
	s.Enable(User)
	s.Enable(HA)
	want := []bool{true, false, true}
	if len(got) != len(want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("calls %v, want %v", got, want)
		}
	}
}

func TestParseOrigin(t *testing.T) {
	for in, want := range map[string]Origin{"user": User, "ha-partner": HA} {
		if o, err := ParseOrigin(in); err != nil || o != want || o.String() != in {
			t.Errorf("ParseOrigin(%q) = %v, %v", in, o, err)
		}
	}
	if _, err := ParseOrigin("db"); err == nil || err.Error() != "invalid value used for 'origin' parameter: db" {
		t.Errorf("bad origin error %v", err)
	}
}
