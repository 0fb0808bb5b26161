//! Application function codes (IEEE 1815-2012, clause 4).

use std::fmt;

macro_rules! function_codes {
    ($( $code:literal => $variant:ident, $name:literal, $doc:literal; )*) => {
        /// An application-layer function code.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum FunctionCode {
            $( #[doc = $doc] $variant, )*
        }

        impl FunctionCode {
            /// Every defined function code, in numeric order.
            pub const ALL: &'static [FunctionCode] = &[$( FunctionCode::$variant, )*];

            /// Decodes a function code byte.
            pub fn from_u8(code: u8) -> Option<FunctionCode> {
                match code {
                    $( $code => Some(FunctionCode::$variant), )*
                    _ => None,
                }
            }

            /// The code byte.
            pub fn to_u8(self) -> u8 {
                match self {
                    $( FunctionCode::$variant => $code, )*
                }
            }

            /// The upper-case name used in IEEE 1815-2012, clause 4.
            pub fn name(self) -> &'static str {
                match self {
                    $( FunctionCode::$variant => $name, )*
                }
            }
        }
    };
}

function_codes! {
    0 => Confirm, "CONFIRM", "Confirms a response (solicited or unsolicited).";
    1 => Read, "READ", "Requests data: object headers only.";
    2 => Write, "WRITE", "Writes objects (time, IIN, …); null response.";
    3 => Select, "SELECT", "Selects controls before OPERATE.";
    4 => Operate, "OPERATE", "Operates previously selected controls.";
    5 => DirectOperate, "DIRECT_OPERATE", "Operates controls without a select.";
    6 => DirectOperateNr, "DIRECT_OPERATE_NR", "Direct operate without a response.";
    7 => ImmedFreeze, "IMMED_FREEZE", "Freezes counters now.";
    8 => ImmedFreezeNr, "IMMED_FREEZE_NR", "Freezes counters, no response.";
    9 => FreezeClear, "FREEZE_CLEAR", "Freezes then clears counters.";
    10 => FreezeClearNr, "FREEZE_CLEAR_NR", "Freeze and clear, no response.";
    11 => FreezeAtTime, "FREEZE_AT_TIME", "Freezes counters at a time and interval.";
    12 => FreezeAtTimeNr, "FREEZE_AT_TIME_NR", "Freeze at time, no response.";
    13 => ColdRestart, "COLD_RESTART", "Requests a cold restart.";
    14 => WarmRestart, "WARM_RESTART", "Requests a warm restart.";
    15 => InitializeData, "INITIALIZE_DATA", "Obsolete.";
    16 => InitializeApplication, "INITIALIZE_APPLICATION", "Initialises an application (g90).";
    17 => StartApplication, "START_APPLICATION", "Starts an application (g90).";
    18 => StopApplication, "STOP_APPLICATION", "Stops an application (g90).";
    19 => SaveConfiguration, "SAVE_CONFIGURATION", "Deprecated.";
    20 => EnableUnsolicited, "ENABLE_UNSOLICITED", "Enables unsolicited reporting of classes.";
    21 => DisableUnsolicited, "DISABLE_UNSOLICITED", "Disables unsolicited reporting of classes.";
    22 => AssignClass, "ASSIGN_CLASS", "Assigns points to event classes.";
    23 => DelayMeasure, "DELAY_MEASURE", "Measures the outstation's processing delay.";
    24 => RecordCurrentTime, "RECORD_CURRENT_TIME", "Latches the time for a LAN time sync.";
    25 => OpenFile, "OPEN_FILE", "Opens a file (g70).";
    26 => CloseFile, "CLOSE_FILE", "Closes a file (g70).";
    27 => DeleteFile, "DELETE_FILE", "Deletes a file (g70).";
    28 => GetFileInfo, "GET_FILE_INFO", "Reads a file descriptor (g70).";
    29 => AuthenticateFile, "AUTHENTICATE_FILE", "Authenticates for file access (g70).";
    30 => AbortFile, "ABORT_FILE", "Aborts a file transfer.";
    31 => ActivateConfig, "ACTIVATE_CONFIG", "Activates a configuration (g70v8).";
    32 => AuthRequest, "AUTH_REQUEST", "Secure authentication request (g120).";
    33 => AuthRequestNoAck, "AUTH_REQUEST_NO_ACK", "Secure authentication request, no response.";
    129 => Response, "RESPONSE", "A solicited response.";
    130 => UnsolicitedResponse, "UNSOLICITED_RESPONSE", "An unsolicited response.";
    131 => AuthResponse, "AUTH_RESPONSE", "Secure authentication response.";
}

impl FunctionCode {
    /// True for the codes an outstation sends (responses carry IIN).
    pub fn is_response(self) -> bool {
        matches!(
            self,
            FunctionCode::Response | FunctionCode::UnsolicitedResponse | FunctionCode::AuthResponse
        )
    }

    /// True for the requests that are never answered (the `_NR` codes and CONFIRM).
    pub fn expects_no_response(self) -> bool {
        matches!(
            self,
            FunctionCode::Confirm
                | FunctionCode::DirectOperateNr
                | FunctionCode::ImmedFreezeNr
                | FunctionCode::FreezeClearNr
                | FunctionCode::FreezeAtTimeNr
                | FunctionCode::AuthRequestNoAck
        )
    }
}

impl fmt::Display for FunctionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for &f in FunctionCode::ALL {
            assert_eq!(FunctionCode::from_u8(f.to_u8()), Some(f));
        }
        assert_eq!(FunctionCode::ALL.len(), 37);
        assert_eq!(FunctionCode::from_u8(34), None);
        assert_eq!(FunctionCode::from_u8(0x17).unwrap().name(), "DELAY_MEASURE");
    }
}
