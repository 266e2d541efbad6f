package profiles

import "testing"

func TestMergeFoldsSessionsOfOneUser(t *testing.T) {
	got := merge([]User{
		{SID: "S-1-5-21-9-1002", Name: "b", Profile: `C:\Users\b`, Sessions: []uint32{3}},
		{SID: "S-1-5-21-9-1001", Name: "a", Profile: `C:\Users\a`, Sessions: []uint32{2}},
		{SID: "s-1-5-21-9-1001", Name: "a", Profile: `C:\Users\a`, Sessions: []uint32{5}},
		{SID: "S-1-5-21-9-1003", Name: "no profile"},
	})
	if len(got) != 2 || got[0].Name != "a" || len(got[0].Sessions) != 2 || got[1].Name != "b" {
		t.Fatalf("merge = %+v", got)
	}
}
