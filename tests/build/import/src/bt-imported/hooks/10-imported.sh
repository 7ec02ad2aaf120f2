export JCX_BT_IMPORTED_HOOK="sourced"
