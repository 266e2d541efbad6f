package geom

import (
	"math"
	"testing"
)

func TestSquareToMapsCornersAndInverts(t *testing.T) {
	q := [4][2]float64{{10, 20}, {300, 5}, {320, 410}, {-4, 380}}
	m := SquareTo(q)
	for i, c := range [][2]float64{{0, 0}, {1, 0}, {1, 1}, {0, 1}} {
		x, y := m.Apply(c[0], c[1])
		if math.Abs(x-q[i][0]) > 1e-9 || math.Abs(y-q[i][1]) > 1e-9 {
			t.Fatalf("corner %d maps to (%g,%g), want %v", i, x, y, q[i])
		}
	}
	inv := m.Inverse()
	for _, p := range [][2]float64{{0.3, 0.7}, {0.5, 0.5}, {0.9, 0.1}} {
		x, y := m.Apply(p[0], p[1])
		u, v := inv.Apply(x, y)
		if math.Abs(u-p[0]) > 1e-9 || math.Abs(v-p[1]) > 1e-9 {
			t.Fatalf("%v round-trips to (%g,%g)", p, u, v)
		}
	}
}
