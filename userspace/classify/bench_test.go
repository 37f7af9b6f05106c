package classify

import "testing"

// BenchmarkEvalSeedClasses measures a full pass-1 classification of a
// phone packet with the seed configuration's classes and an HA class.
func BenchmarkEvalSeedClasses(b *testing.B) {
	c, err := NewClassifier(seedClasses)
	if err != nil {
		b.Fatal(err)
	}
	p := phonePacket()
	s := c.NewSet()
	b.ReportAllocs()
	for b.Loop() {
		s.Reset()
		s.Add("HA_server1")
		if _, err := c.Classify(p, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvalFunctions measures an expression that builds values.
func BenchmarkEvalFunctions(b *testing.B) {
	e, err := Compile("hexstring(pkt4.mac, ':') + '/' + addrtotext(pkt4.giaddr) == '0a:0b:0c:0d:0e:0f/127.0.0.2' and relay4[2].hex == 0x0102")
	if err != nil {
		b.Fatal(err)
	}
	p := labPacket()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := e.Eval(p, nil); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
