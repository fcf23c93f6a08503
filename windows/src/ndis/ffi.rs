//! The NDIS, kernel and HAL functions the miniport calls — and only those.
//! Signatures from the NDIS reference / ndis.h, wdm.h; every one is present
//! in mingw-w64's import libraries (build.sh checks each import against
//! `libndis.a`, `libntoskrnl.a` and `libhal.a`).
//!
//! Only compiled for the Windows target: host tests never link against
//! these. Callers wrap each in a safe function in `platform.rs` or `shim/`.
//! Each function is documented under its own name in Microsoft's reference.
#![allow(missing_docs)]

use core::ffi::c_void;

use super::miniport::{
    NdisIoWorkItemFunction, NDIS_CONFIGURATION_OBJECT, NDIS_CONFIGURATION_PARAMETER,
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS, NDIS_MINIPORT_INTERRUPT_CHARACTERISTICS,
    NDIS_SG_DMA_DESCRIPTION,
};
use super::nbl::{
    MDL, NET_BUFFER, NET_BUFFER_LIST, NET_BUFFER_LIST_POOL_PARAMETERS, SCATTER_GATHER_LIST,
};
use super::objects::{NDIS_OID_REQUEST, NDIS_STATUS_INDICATION};
use super::{
    GROUP_AFFINITY, KIRQL, KSPIN_LOCK, NDIS_HANDLE, NDIS_PORT_NUMBER, NDIS_STATUS,
    PHYSICAL_ADDRESS, PROCESSOR_NUMBER, UNICODE_STRING,
};

#[link(name = "ndis")]
extern "system" {
    pub fn NdisMRegisterMiniportDriver(
        DriverObject: *mut c_void,
        RegistryPath: *mut UNICODE_STRING,
        MiniportDriverContext: NDIS_HANDLE,
        Characteristics: *mut NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
        NdisMiniportDriverHandle: *mut NDIS_HANDLE,
    ) -> NDIS_STATUS;
    pub fn NdisMDeregisterMiniportDriver(NdisMiniportDriverHandle: NDIS_HANDLE);
    /// `MiniportAttributes` points at any `NDIS_MINIPORT_ADAPTER_*_ATTRIBUTES`.
    pub fn NdisMSetMiniportAttributes(
        MiniportAdapterHandle: NDIS_HANDLE,
        MiniportAttributes: *mut c_void,
    ) -> NDIS_STATUS;
    pub fn NdisOpenConfigurationEx(
        ConfigObject: *mut NDIS_CONFIGURATION_OBJECT,
        ConfigurationHandle: *mut NDIS_HANDLE,
    ) -> NDIS_STATUS;
    pub fn NdisReadConfiguration(
        Status: *mut NDIS_STATUS,
        ParameterValue: *mut *mut NDIS_CONFIGURATION_PARAMETER,
        ConfigurationHandle: NDIS_HANDLE,
        Keyword: *mut UNICODE_STRING,
        ParameterType: u32,
    );
    pub fn NdisCloseConfiguration(ConfigurationHandle: NDIS_HANDLE);
    pub fn NdisMGetBusData(
        NdisMiniportHandle: NDIS_HANDLE,
        WhichSpace: u32,
        Offset: u32,
        Buffer: *mut c_void,
        Length: u32,
    ) -> u32;
    pub fn NdisMMapIoSpace(
        VirtualAddress: *mut *mut c_void,
        MiniportAdapterHandle: NDIS_HANDLE,
        PhysicalAddress: PHYSICAL_ADDRESS,
        Length: u32,
    ) -> NDIS_STATUS;
    pub fn NdisMUnmapIoSpace(
        MiniportAdapterHandle: NDIS_HANDLE,
        VirtualAddress: *mut c_void,
        Length: u32,
    );
    pub fn NdisMRegisterScatterGatherDma(
        MiniportAdapterHandle: NDIS_HANDLE,
        DmaDescription: *mut NDIS_SG_DMA_DESCRIPTION,
        NdisMiniportDmaHandle: *mut NDIS_HANDLE,
    ) -> NDIS_STATUS;
    pub fn NdisMDeregisterScatterGatherDma(NdisMiniportDmaHandle: NDIS_HANDLE);
    pub fn NdisMAllocateSharedMemory(
        MiniportAdapterHandle: NDIS_HANDLE,
        Length: u32,
        Cached: u8,
        VirtualAddress: *mut *mut c_void,
        PhysicalAddress: *mut PHYSICAL_ADDRESS,
    );
    pub fn NdisMFreeSharedMemory(
        MiniportAdapterHandle: NDIS_HANDLE,
        Length: u32,
        Cached: u8,
        VirtualAddress: *mut c_void,
        PhysicalAddress: PHYSICAL_ADDRESS,
    );
    /// `Priority` is an `EX_POOL_PRIORITY` (`NormalPoolPriority` = 16).
    pub fn NdisAllocateMemoryWithTagPriority(
        NdisHandle: NDIS_HANDLE,
        Length: u32,
        Tag: u32,
        Priority: u32,
    ) -> *mut c_void;
    pub fn NdisFreeMemoryWithTagPriority(
        NdisHandle: NDIS_HANDLE,
        VirtualAddress: *mut c_void,
        Tag: u32,
    );
    pub fn NdisMRegisterInterruptEx(
        MiniportAdapterHandle: NDIS_HANDLE,
        MiniportInterruptContext: NDIS_HANDLE,
        MiniportInterruptCharacteristics: *mut NDIS_MINIPORT_INTERRUPT_CHARACTERISTICS,
        NdisInterruptHandle: *mut NDIS_HANDLE,
    ) -> NDIS_STATUS;
    pub fn NdisMDeregisterInterruptEx(NdisInterruptHandle: NDIS_HANDLE);
    pub fn NdisMQueueDpcEx(
        NdisInterruptHandle: NDIS_HANDLE,
        MessageId: u32,
        TargetProcessors: *mut GROUP_AFFINITY,
        MiniportDpcContext: *mut c_void,
    ) -> usize;
    pub fn NdisAllocateNetBufferListPool(
        NdisHandle: NDIS_HANDLE,
        Parameters: *mut NET_BUFFER_LIST_POOL_PARAMETERS,
    ) -> NDIS_HANDLE;
    pub fn NdisFreeNetBufferListPool(PoolHandle: NDIS_HANDLE);
    pub fn NdisAllocateNetBufferAndNetBufferList(
        PoolHandle: NDIS_HANDLE,
        ContextSize: u16,
        ContextBackFill: u16,
        MdlChain: *mut MDL,
        DataOffset: u32,
        DataLength: usize,
    ) -> *mut NET_BUFFER_LIST;
    pub fn NdisFreeNetBufferList(NetBufferList: *mut NET_BUFFER_LIST);
    pub fn NdisAllocateMdl(
        NdisHandle: NDIS_HANDLE,
        VirtualAddress: *mut c_void,
        Length: u32,
    ) -> *mut MDL;
    pub fn NdisFreeMdl(Mdl: *mut MDL);
    pub fn NdisMAllocateNetBufferSGList(
        NdisMiniportDmaHandle: NDIS_HANDLE,
        NetBuffer: *mut NET_BUFFER,
        Context: *mut c_void,
        Flags: u32,
        ScatterGatherListBuffer: *mut c_void,
        ScatterGatherListBufferSize: u32,
    ) -> NDIS_STATUS;
    pub fn NdisMFreeNetBufferSGList(
        NdisMiniportDmaHandle: NDIS_HANDLE,
        pSGL: *mut SCATTER_GATHER_LIST,
        NetBuffer: *mut NET_BUFFER,
    );
    pub fn NdisGetDataBuffer(
        NetBuffer: *mut NET_BUFFER,
        BytesNeeded: u32,
        Storage: *mut c_void,
        AlignMultiple: u32,
        AlignOffset: u32,
    ) -> *mut c_void;
    pub fn NdisMSendNetBufferListsComplete(
        MiniportAdapterHandle: NDIS_HANDLE,
        NetBufferList: *mut NET_BUFFER_LIST,
        SendCompleteFlags: u32,
    );
    pub fn NdisMIndicateReceiveNetBufferLists(
        MiniportAdapterHandle: NDIS_HANDLE,
        NetBufferList: *mut NET_BUFFER_LIST,
        PortNumber: NDIS_PORT_NUMBER,
        NumberOfNetBufferLists: u32,
        ReceiveFlags: u32,
    );
    pub fn NdisMIndicateStatusEx(
        MiniportAdapterHandle: NDIS_HANDLE,
        StatusIndication: *mut NDIS_STATUS_INDICATION,
    );
    pub fn NdisMPauseComplete(MiniportAdapterHandle: NDIS_HANDLE);
    pub fn NdisMResetComplete(
        MiniportAdapterHandle: NDIS_HANDLE,
        Status: NDIS_STATUS,
        AddressingReset: u8,
    );
    pub fn NdisMOidRequestComplete(
        MiniportAdapterHandle: NDIS_HANDLE,
        OidRequest: *mut NDIS_OID_REQUEST,
        Status: NDIS_STATUS,
    );
    pub fn NdisAllocateIoWorkItem(NdisObjectHandle: NDIS_HANDLE) -> NDIS_HANDLE;
    pub fn NdisQueueIoWorkItem(
        NdisIoWorkItemHandle: NDIS_HANDLE,
        Routine: NdisIoWorkItemFunction,
        WorkItemContext: *mut c_void,
    );
    pub fn NdisFreeIoWorkItem(NdisIoWorkItemHandle: NDIS_HANDLE);
    pub fn NdisMSleep(MicrosecondsToSleep: u32);
}

#[link(name = "ndis")]
extern "C" {
    /// `__cdecl`, variadic: `NumberOfErrorValues` ULONGs follow.
    pub fn NdisWriteErrorLogEntry(
        NdisAdapterHandle: NDIS_HANDLE,
        ErrorCode: u32,
        NumberOfErrorValues: u32,
        ...
    );
}

#[link(name = "ntoskrnl")]
extern "system" {
    pub fn KeAcquireSpinLockRaiseToDpc(SpinLock: *mut KSPIN_LOCK) -> KIRQL;
    pub fn KeReleaseSpinLock(SpinLock: *mut KSPIN_LOCK, NewIrql: KIRQL);
    pub fn KeGetCurrentProcessorNumberEx(ProcNumber: *mut PROCESSOR_NUMBER) -> u32;
    /// `CacheType` is a `MEMORY_CACHING_TYPE` (`MmWriteCombined` = 2).
    pub fn MmMapIoSpace(
        PhysicalAddress: PHYSICAL_ADDRESS,
        NumberOfBytes: usize,
        CacheType: u32,
    ) -> *mut c_void;
    pub fn MmUnmapIoSpace(BaseAddress: *mut c_void, NumberOfBytes: usize);
    pub fn KeBugCheckEx(BugCheckCode: u32, P1: usize, P2: usize, P3: usize, P4: usize) -> !;
}

#[link(name = "ntoskrnl")]
extern "C" {
    /// `__cdecl`, printf-style.
    pub fn DbgPrintEx(ComponentId: u32, Level: u32, Format: *const u8, ...) -> u32;
}

#[link(name = "hal")]
extern "system" {
    /// Returns the counter; writes the frequency (Hz) if non-NULL.
    pub fn KeQueryPerformanceCounter(PerformanceFrequency: *mut i64) -> i64;
    pub fn KeStallExecutionProcessor(MicroSeconds: u32);
}

/// `NormalPoolPriority`.
pub const NORMAL_POOL_PRIORITY: u32 = 16;
/// `MmWriteCombined`.
pub const MM_WRITE_COMBINED: u32 = 2;
/// `PCI_WHICHSPACE_CONFIG`.
pub const PCI_WHICHSPACE_CONFIG: u32 = 0;
/// `DPFLTR_IHVNETWORK_ID` (dpfilter.h).
pub const DPFLTR_IHVNETWORK_ID: u32 = 80;
/// `DPFLTR_ERROR_LEVEL`.
pub const DPFLTR_ERROR_LEVEL: u32 = 0;
/// `DPFLTR_WARNING_LEVEL`.
pub const DPFLTR_WARNING_LEVEL: u32 = 1;
/// `DPFLTR_TRACE_LEVEL`.
pub const DPFLTR_TRACE_LEVEL: u32 = 2;
/// `DPFLTR_INFO_LEVEL`.
pub const DPFLTR_INFO_LEVEL: u32 = 3;
