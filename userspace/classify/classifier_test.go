package classify

import (
	"slices"
	"strings"
	"testing"
)

// seedClasses are the client-classes of the seed HA configuration.
var seedClasses = []ClassDef{
	{Name: "phones", Test: "substring(option[60].hex,0,6) == 'Aastra'"},
	{Name: "laptops", Test: "not member('phones')"},
	{Name: "phones_server1", Test: "member('phones') and member('HA_server1')"},
	{Name: "phones_server2", Test: "member('phones') and member('HA_server2')"},
	{Name: "laptops_server1", Test: "member('laptops') and member('HA_server1')"},
	{Name: "laptops_server2", Test: "member('laptops') and member('HA_server2')"},
}

func phonePacket() *Packet {
	return withOptions(labPacket(), map[uint8][]byte{60: []byte("Aastra 6731i")})
}

func TestSeedClasses(t *testing.T) {
	c, err := NewClassifier(seedClasses)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pkt  *Packet
		ha   string
		want []string
	}{
		{"phone server1", phonePacket(), "HA_server1",
			[]string{"HA_server1", "ALL", "VENDOR_CLASS_Aastra 6731i", "phones", "phones_server1"}},
		{"phone server2", phonePacket(), "HA_server2",
			[]string{"HA_server2", "ALL", "VENDOR_CLASS_Aastra 6731i", "phones", "phones_server2"}},
		{"laptop server1", labPacket(), "HA_server1",
			[]string{"HA_server1", "ALL", "VENDOR_CLASS_MSFT 5.0", "laptops", "laptops_server1"}},
		{"laptop server2", labPacket(), "HA_server2",
			[]string{"HA_server2", "ALL", "VENDOR_CLASS_MSFT 5.0", "laptops", "laptops_server2"}},
		{"no option 60, no HA class", withOptions(labPacket(), map[uint8][]byte{60: nil}), "",
			[]string{"ALL", "laptops"}},
	}
	for _, tt := range tests {
		s := c.NewSet()
		if tt.ha != "" {
			s.Add(tt.ha)
		}
		drop, err := c.Classify(tt.pkt, s)
		if drop || err != nil {
			t.Errorf("%s: drop=%v err=%v", tt.name, drop, err)
		}
		if got := s.Names(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: classes %q, want %q", tt.name, got, tt.want)
		}
		for _, n := range tt.want {
			if !s.Has(n) {
				t.Errorf("%s: Has(%q) false", tt.name, n)
			}
		}
		if s.Has("KNOWN") || s.Has("nope") {
			t.Errorf("%s: Has reports a class not added", tt.name)
		}
	}
}

func TestNewClassifierRefuses(t *testing.T) {
	tests := []struct {
		name string
		defs []ClassDef
		want string
	}{
		{"empty name", []ClassDef{{Name: ""}}, "name is empty"},
		{"duplicate", []ClassDef{{Name: "a"}, {Name: "a"}}, "defined twice"},
		{"forward reference", []ClassDef{{Name: "a", Test: "member('b')"}, {Name: "b"}}, "not defined"},
		{"undefined", []ClassDef{{Name: "a", Test: "member('nope')"}}, "not defined"},
		{"self reference", []ClassDef{{Name: "a", Test: "member('a')"}}, "not defined"},
		{"DROP not built in", []ClassDef{{Name: "a", Test: "member('DROP')"}}, "not defined"},
		{"built-in with test", []ClassDef{{Name: "ALL", Test: "'a' == 'a'"}}, "must not have a test"},
		{"built-in required", []ClassDef{{Name: "KNOWN", OnlyIfRequired: true}}, "only-if-required"},
		{"DROP required", []ClassDef{{Name: "DROP", Test: "'a' == 'a'", OnlyIfRequired: true}}, "only-if-required"},
		{"syntax error", []ClassDef{{Name: "a", Test: "'a' =="}}, "column"},
	}
	for _, tt := range tests {
		_, err := NewClassifier(tt.defs)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

func TestNewClassifierAccepts(t *testing.T) {
	defs := []ClassDef{
		{Name: "ALL"}, // built-in declared to attach options
		{Name: "KNOWN"},
		{Name: "DROP", Test: "member('UNKNOWN') and option[60].exists"},
		{Name: "v", Test: "member('VENDOR_CLASS_x') or member('HA_a') or member('AFTER_x') or member('EXTERNAL_x') or member('BOOTP')"},
		{Name: "r", Test: "'a' == 'a'", OnlyIfRequired: true},
		{Name: "uses-r", Test: "member('r')"},
		{Name: "uses-drop", Test: "member('DROP')"},
	}
	c, err := NewClassifier(defs)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		class   string
		defined bool
		known   bool
	}{
		{"DROP", true, true},
		{"uses-drop", true, true},
		{"v", true, false},
		{"uses-r", true, false},
		{"HA_server9", true, false},
		{"nope", false, false},
	}
	for _, tt := range tests {
		if got := c.Defined(tt.class); got != tt.defined {
			t.Errorf("Defined(%q) = %v", tt.class, got)
		}
		if got := c.DependsOnKnown(tt.class); got != tt.known {
			t.Errorf("DependsOnKnown(%q) = %v", tt.class, got)
		}
	}
}

func TestKnownPhases(t *testing.T) {
	defs := []ClassDef{
		{Name: "plain", Test: "'x' == 'x'"},
		{Name: "reserved", Test: "member('KNOWN')"},
		{Name: "reserved-laptop", Test: "member('reserved') and option[60].exists"},
		{Name: "stranger", Test: "member('UNKNOWN')"},
		{Name: "from-host"},
		{Name: "sees-host", Test: "member('from-host')"},
		{Name: "sees-host-late", Test: "member('from-host') and member('KNOWN')"},
	}
	c, err := NewClassifier(defs)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		known     bool
		hostCls   []string
		wantPass1 []string
		wantAll   []string
	}{
		{"known", true, []string{"from-host"},
			[]string{"ALL", "VENDOR_CLASS_MSFT 5.0", "plain"},
			[]string{"ALL", "VENDOR_CLASS_MSFT 5.0", "plain", "KNOWN", "from-host", "reserved", "reserved-laptop", "sees-host-late"}},
		{"unknown", false, nil,
			[]string{"ALL", "VENDOR_CLASS_MSFT 5.0", "plain"},
			[]string{"ALL", "VENDOR_CLASS_MSFT 5.0", "plain", "UNKNOWN", "stranger"}},
	}
	for _, tt := range tests {
		s := c.NewSet()
		if drop, err := c.Classify(labPacket(), s); drop || err != nil {
			t.Fatalf("%s: pass 1 drop=%v err=%v", tt.name, drop, err)
		}
		if got := s.Names(); !slices.Equal(got, tt.wantPass1) {
			t.Errorf("%s: after pass 1 %q, want %q", tt.name, got, tt.wantPass1)
		}
		if drop, err := c.ClassifyKnown(labPacket(), s, tt.known, tt.hostCls); drop || err != nil {
			t.Fatalf("%s: pass 2 drop=%v err=%v", tt.name, drop, err)
		}
		if got := s.Names(); !slices.Equal(got, tt.wantAll) {
			t.Errorf("%s: after pass 2 %q, want %q", tt.name, got, tt.wantAll)
		}
	}
}

func TestDrop(t *testing.T) {
	tests := []struct {
		name      string
		test      string
		pkt       *Packet
		known     bool
		dropPass1 bool
		dropPass2 bool
	}{
		{"pass 1 match", "option[60].text == 'MSFT 5.0'", labPacket(), false, true, true},
		{"pass 1 no match", "option[60].text == 'other'", labPacket(), false, false, false},
		{"depends on UNKNOWN, unknown", "member('UNKNOWN')", labPacket(), false, false, true},
		{"depends on UNKNOWN, known", "member('UNKNOWN')", labPacket(), true, false, false},
	}
	for _, tt := range tests {
		c, err := NewClassifier([]ClassDef{{Name: "DROP", Test: tt.test}})
		if err != nil {
			t.Fatal(err)
		}
		s := c.NewSet()
		drop, _ := c.Classify(tt.pkt, s)
		if drop != tt.dropPass1 {
			t.Errorf("%s: pass 1 drop=%v", tt.name, drop)
		}
		drop, _ = c.ClassifyKnown(tt.pkt, s, tt.known, nil)
		if drop != tt.dropPass2 {
			t.Errorf("%s: pass 2 drop=%v", tt.name, drop)
		}
	}
}

func TestRequiredClasses(t *testing.T) {
	defs := []ClassDef{
		{Name: "req-true", Test: "option[60].exists", OnlyIfRequired: true},
		{Name: "req-false", Test: "option[66].exists", OnlyIfRequired: true},
		{Name: "req-sees", Test: "member('req-true')", OnlyIfRequired: true},
		{Name: "normal", Test: "'a' == 'b'"},
		{Name: "no-test"},
		{Name: "req-error", Test: "addrtotext(0x01) == ''", OnlyIfRequired: true},
	}
	c, err := NewClassifier(defs)
	if err != nil {
		t.Fatal(err)
	}
	s := c.NewSet()
	c.Classify(labPacket(), s)
	c.ClassifyKnown(labPacket(), s, false, nil)
	base := []string{"ALL", "VENDOR_CLASS_MSFT 5.0", "UNKNOWN"}
	if got := s.Names(); !slices.Equal(got, base) {
		t.Fatalf("only-if-required classes evaluated in passes 1/2: %q", got)
	}
	network := []string{"req-sees", "undefined"}
	subnet := []string{"no-test", "req-true", "req-false", "req-error"}
	pool := []string{"req-sees", "normal"}
	err = c.EvalRequired(labPacket(), s, network, subnet, pool)
	if err == nil || !strings.Contains(err.Error(), "req-error") {
		t.Errorf("EvalRequired error %v, want one naming req-error", err)
	}
	// req-sees is evaluated once, first (before req-true is added), so it
	// stays out; the duplicate in the pool list is ignored.
	want := append(base, "req-true")
	if got := s.Names(); !slices.Equal(got, want) {
		t.Errorf("after required: %q, want %q", got, want)
	}
	// Listed again in pool order after req-true: now it matches.
	if err := c.EvalRequired(labPacket(), s, []string{"req-true", "req-sees"}); err != nil {
		t.Fatal(err)
	}
	want = append(want, "req-sees")
	if got := s.Names(); !slices.Equal(got, want) {
		t.Errorf("after second required: %q, want %q", got, want)
	}
}

func TestErroringClassNotAssigned(t *testing.T) {
	c, err := NewClassifier([]ClassDef{
		{Name: "bad", Test: "uint8totext(option[61].hex) == '1'"},
		{Name: "after", Test: "not member('bad')"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := c.NewSet()
	drop, err := c.Classify(labPacket(), s)
	if drop || err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Fatalf("drop=%v err=%v, want an error naming the class", drop, err)
	}
	if s.Has("bad") || !s.Has("after") {
		t.Errorf("classes %q: the failing class must be skipped and evaluation go on", s.Names())
	}
}

func TestSet(t *testing.T) {
	c, err := NewClassifier(seedClasses)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewClassifier([]ClassDef{{Name: "x"}})
	tests := []struct {
		name string
		set  *Set
	}{
		{"classifier set", c.NewSet()},
		{"zero set", &Set{}},
		{"other classifier's set", other.NewSet()},
	}
	for _, tt := range tests {
		s := tt.set
		if !s.Add("phones") || s.Add("phones") || !s.Add("unlisted") || !s.Add("HA_server1") {
			t.Errorf("%s: Add results wrong", tt.name)
		}
		if !s.Has("phones") || !s.Has("unlisted") || s.Has("laptops") || s.Len() != 3 {
			t.Errorf("%s: Has/Len wrong: %q", tt.name, s.Names())
		}
		// Classify binds the set to c and keeps what was there.
		c.Classify(phonePacket(), s)
		want := []string{"phones", "unlisted", "HA_server1", "ALL", "VENDOR_CLASS_Aastra 6731i", "phones_server1"}
		if got := slices.Collect(s.All()); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", tt.name, got, want)
		}
		s.Reset()
		if s.Len() != 0 || s.Has("phones") || s.Has("unlisted") {
			t.Errorf("%s: Reset left %q", tt.name, s.Names())
		}
	}
}

func TestVendorClassReferenced(t *testing.T) {
	c, err := NewClassifier([]ClassDef{
		{Name: "msft", Test: "member('VENDOR_CLASS_MSFT 5.0')"},
		{Name: "other", Test: "member('VENDOR_CLASS_other')"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pkt  *Packet
		want []string
	}{
		{"referenced vendor class", labPacket(), []string{"ALL", "VENDOR_CLASS_MSFT 5.0", "msft"}},
		{"unreferenced vendor class", phonePacket(), []string{"ALL", "VENDOR_CLASS_Aastra 6731i"}},
		{"trailing NULs trimmed", withOptions(labPacket(), map[uint8][]byte{60: []byte("other\x00")}), []string{"ALL", "VENDOR_CLASS_other", "other"}},
		{"empty option 60", withOptions(labPacket(), map[uint8][]byte{60: {}}), []string{"ALL"}},
	}
	for _, tt := range tests {
		s := c.NewSet()
		c.Classify(tt.pkt, s)
		if got := s.Names(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
