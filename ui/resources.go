package ui

import (
	"fyne.io/fyne/v2"

	"github.com/clinicpro/medtech-images/assets"
	"github.com/clinicpro/medtech-images/ui/viewmodel"
)

var (
	appIcon   = fyne.NewStaticResource("app.png", assets.AppIcon)
	trayIcons = map[viewmodel.Icon]fyne.Resource{
		viewmodel.IconOK:        fyne.NewStaticResource("tray-ok.png", assets.TrayOK),
		viewmodel.IconUploading: fyne.NewStaticResource("tray-uploading.png", assets.TrayUploading),
		viewmodel.IconAttention: fyne.NewStaticResource("tray-attention.png", assets.TrayAttention),
		viewmodel.IconOffline:   fyne.NewStaticResource("tray-offline.png", assets.TrayOffline),
	}
)

// AppIcon is the application icon as a Fyne resource.
func AppIcon() fyne.Resource { return appIcon }
