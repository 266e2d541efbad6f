package viewmodel

// The capture window's item controls. Rotate and Retry once shared an icon; each now
// has its own label, icon and tip, and the tips say what happens to the file.
const (
	LabelRotate  = "Rotate"
	TipRotate    = "Turn a quarter turn clockwise. Applied when the image is converted for Medtech; the original file is not changed."
	LabelEnlarge = "Enlarge"
	TipEnlarge   = "Show the image large, to check it before saving."
	LabelRetry   = "Retry"
	TipRetry     = "Send the images that were not saved again."
	TipRemove    = "Take this image out of the window without saving it."
)
