// Package geom holds the plane geometry of perspective: the projective
// transform that maps the unit square onto any convex quadrilateral, which
// both un-tilts a photographed page (internal/imaging) and draws one for the
// tests (internal/imaging/synth).
package geom

// Mat3 is a projective transform of the plane, row-major.
type Mat3 [9]float64

// Apply maps (x, y).
func (m Mat3) Apply(x, y float64) (float64, float64) {
	w := m[6]*x + m[7]*y + m[8]
	return (m[0]*x + m[1]*y + m[2]) / w, (m[3]*x + m[4]*y + m[5]) / w
}

// Inverse is the transform back.
func (m Mat3) Inverse() Mat3 {
	a, b, c, d, e, f, g, h, i := m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]
	A, B, C := e*i-f*h, -(d*i - f*g), d*h-e*g
	det := a*A + b*B + c*C
	return Mat3{A / det, -(b*i - c*h) / det, (b*f - c*e) / det,
		B / det, (a*i - c*g) / det, -(a*f - c*d) / det,
		C / det, -(a*h - b*g) / det, (a*e - b*d) / det}
}

// SquareTo maps the unit square's corners (0,0), (1,0), (1,1), (0,1) onto
// q (Heckbert's closed form).
func SquareTo(q [4][2]float64) Mat3 {
	x0, y0 := q[0][0], q[0][1]
	x1, y1 := q[1][0], q[1][1]
	x2, y2 := q[2][0], q[2][1]
	x3, y3 := q[3][0], q[3][1]
	dx1, dy1 := x1-x2, y1-y2
	dx2, dy2 := x3-x2, y3-y2
	sx, sy := x0-x1+x2-x3, y0-y1+y2-y3
	den := dx1*dy2 - dx2*dy1
	g := (sx*dy2 - dx2*sy) / den
	h := (dx1*sy - sx*dy1) / den
	return Mat3{x1 - x0 + g*x1, x3 - x0 + h*x3, x0, y1 - y0 + g*y1, y3 - y0 + h*y3, y0, g, h, 1}
}
