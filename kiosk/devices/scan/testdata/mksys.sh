#!/usr/bin/env bash
# Rebuilds testdata/sys: the parts of a real /sys that udev and `kiosk
# devices scan` read for four USB serial devices of a terminal, recorded
# from their real layout (Linux 6.1, Debian 12): a CH340 (1a86:7523, as
# sold with the SDS011, no serial number), a CP2102 (10c4:ea60, card
# reader board), an FTDI FT232R (0403:6001, MH-Z19B adapter) and a USB CDC
# ACM receipt printer (0483:5740), plus an on-board UART without hardware
# (ttyS0, type 0) and a virtual console (tty0). Run from testdata/.
set -euo pipefail
rm -rf sys && mkdir sys && cd sys
mkdir -p class/tty bus/usb/drivers/{usb,ch341,cp210x,ftdi_sio,cdc_acm,hub} \
  bus/usb-serial/drivers/{ch341-uart,cp210x,ftdi_sio} bus/pci/drivers/xhci_hcd \
  bus/pnp/drivers/serial devices/virtual/tty/tty0
for d in bus/usb/drivers/* bus/usb-serial/drivers/* bus/pci/drivers/* bus/pnp/drivers/*; do : >"$d/uevent"; done
put() { mkdir -p "$(dirname "$1")"; printf '%s\n' "$2" >"$1"; }

pci=devices/pci0000:00/0000:00:14.0
mkdir -p $pci
put $pci/uevent $'DRIVER=xhci_hcd\nPCI_CLASS=C0330\nPCI_ID=8086:A36D\nPCI_SLOT_NAME=0000:00:14.0'
put $pci/vendor 0x8086; put $pci/device 0xa36d; put $pci/class 0x0c0330
ln -s ../../../bus/pci $pci/subsystem; ln -s ../../../bus/pci/drivers/xhci_hcd $pci/driver
hub=$pci/usb1
mkdir -p $hub
put $hub/uevent $'MAJOR=189\nMINOR=0\nDEVNAME=bus/usb/001/001\nDEVTYPE=usb_device\nDRIVER=usb\nPRODUCT=1d6b/2/601\nTYPE=9/0/1\nBUSNUM=001\nDEVNUM=001'
put $hub/idVendor 1d6b; put $hub/idProduct 0002; put $hub/manufacturer "Linux 6.1.0-28-amd64 xhci-hcd"
put $hub/product "xHCI Host Controller"; put $hub/serial 0000:00:14.0; put $hub/busnum 1; put $hub/devnum 1; put $hub/bDeviceClass 09
ln -s ../../../../bus/usb $hub/subsystem; ln -s ../../../../bus/usb/drivers/usb $hub/driver

# usbdev PORT DEVNUM VID PID BCD MANUFACTURER PRODUCT SERIAL IFDRIVER IFCLASS IFSUB IFPROTO
usbdev() {
  local port=$1 devnum=$2 vid=$3 pid=$4 bcd=$5 man=$6 prod=$7 ser=$8 ifdrv=$9 ifc=${10} ifs=${11} ifp=${12}
  local d=$hub/$port
  mkdir -p $d
  put $d/uevent "$(printf 'MAJOR=189\nMINOR=%d\nDEVNAME=bus/usb/001/%03d\nDEVTYPE=usb_device\nDRIVER=usb\nPRODUCT=%s/%s/%s\nTYPE=0/0/0\nBUSNUM=001\nDEVNUM=%03d' $((devnum-1)) $devnum ${vid#0} ${pid#0} ${bcd#0} $devnum)"
  put $d/idVendor $vid; put $d/idProduct $pid; put $d/bcdDevice $bcd
  put $d/busnum 1; put $d/devnum $devnum; put $d/devpath ${port#1-}; put $d/speed 12; put $d/bDeviceClass 00
  [ -n "$man" ] && put $d/manufacturer "$man"
  [ -n "$prod" ] && put $d/product "$prod"
  [ -n "$ser" ] && put $d/serial "$ser"
  ln -s ../../../../../bus/usb $d/subsystem; ln -s ../../../../../bus/usb/drivers/usb $d/driver
  local i=$d/$port:1.0
  mkdir -p $i
  put $i/uevent "$(printf 'DEVTYPE=usb_interface\nDRIVER=%s\nPRODUCT=%s/%s/%s\nTYPE=0/0/0\nINTERFACE=%d/%d/%d' $ifdrv ${vid#0} ${pid#0} ${bcd#0} 0x$ifc 0x$ifs 0x$ifp)"
  put $i/bInterfaceNumber 00; put $i/bInterfaceClass $ifc; put $i/bInterfaceSubClass $ifs; put $i/bInterfaceProtocol $ifp
  ln -s ../../../../../../bus/usb $i/subsystem; ln -s ../../../../../../bus/usb/drivers/$ifdrv $i/driver
}

# usbserial PORT TTY MINOR PORTDRIVER: a usb-serial converter's port and its tty
usbserial() {
  local i=$hub/$1/$1:1.0 tty=$2 minor=$3 drv=$4
  mkdir -p $i/$tty/tty/$tty
  put $i/$tty/uevent "DRIVER=$drv"; put $i/$tty/port_number 0
  ln -s ../../../../../../../bus/usb-serial $i/$tty/subsystem
  ln -s ../../../../../../../bus/usb-serial/drivers/$drv $i/$tty/driver
  local t=$i/$tty/tty/$tty
  put $t/uevent "$(printf 'MAJOR=188\nMINOR=%d\nDEVNAME=%s' $minor $tty)"; put $t/dev 188:$minor
  ln -s ../../../../../../../../../class/tty $t/subsystem; ln -s ../../../$tty $t/device
  ln -s ../../$t class/tty/$tty
}

usbdev 1-2 5 1a86 7523 0264 "" "USB Serial" "" ch341 ff 01 02
usbserial 1-2 ttyUSB0 0 ch341-uart
usbdev 1-3 6 10c4 ea60 0100 "Silicon Labs" "CP2102 USB to UART Bridge Controller" 0001 cp210x ff 00 00
usbserial 1-3 ttyUSB1 1 cp210x
usbdev 1-4 7 0403 6001 0600 FTDI "FT232R USB UART" A50285BI ftdi_sio ff ff ff
usbserial 1-4 ttyUSB2 2 ftdi_sio

# A CDC ACM printer: its tty hangs off the communication interface.
usbdev 1-5 8 0483 5740 0200 STMicroelectronics "POS Printer Virtual COM" 2079338D5548 cdc_acm 02 02 01
i=$hub/1-5/1-5:1.1
mkdir -p $i
put $i/uevent $'DEVTYPE=usb_interface\nDRIVER=cdc_acm\nPRODUCT=483/5740/200\nTYPE=0/0/0\nINTERFACE=10/0/0'
put $i/bInterfaceNumber 01; put $i/bInterfaceClass 0a; put $i/bInterfaceSubClass 00; put $i/bInterfaceProtocol 00
ln -s ../../../../../../bus/usb $i/subsystem; ln -s ../../../../../../bus/usb/drivers/cdc_acm $i/driver
t=$hub/1-5/1-5:1.0/tty/ttyACM0
mkdir -p $t
put $t/uevent $'MAJOR=166\nMINOR=0\nDEVNAME=ttyACM0'; put $t/dev 166:0
ln -s ../../../../../../../../class/tty $t/subsystem; ln -s ../../../1-5:1.0 $t/device
ln -s ../../$t class/tty/ttyACM0

# An on-board UART without a chip behind it, and a virtual console.
p=devices/pnp0/00:00
mkdir -p $p/tty/ttyS0
put $p/uevent "DRIVER=serial"; ln -s ../../../bus/pnp $p/subsystem; ln -s ../../../bus/pnp/drivers/serial $p/driver
put $p/tty/ttyS0/uevent $'MAJOR=4\nMINOR=64\nDEVNAME=ttyS0'; put $p/tty/ttyS0/dev 4:64; put $p/tty/ttyS0/type 0
ln -s ../../../../../class/tty $p/tty/ttyS0/subsystem; ln -s ../../../00:00 $p/tty/ttyS0/device
ln -s ../../$p/tty/ttyS0 class/tty/ttyS0
put devices/virtual/tty/tty0/uevent $'MAJOR=4\nMINOR=0\nDEVNAME=tty0'; put devices/virtual/tty/tty0/dev 4:0
ln -s ../../../../class/tty devices/virtual/tty/tty0/subsystem
ln -s ../../devices/virtual/tty/tty0 class/tty/tty0
