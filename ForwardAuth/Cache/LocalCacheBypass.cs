namespace ForwardAuth.Cache;

/// <summary>
/// Keys hybrid mode's L1 never holds (read and written straight through to the store below), by prefix: what is read
/// too rarely to be worth an L1 entry (an entry other keys could use). The composition decides which; the store gives
/// no kind a meaning of its own.
/// </summary>
internal sealed record LocalCacheBypass(IReadOnlyList<string> KeyPrefixes)
{
    public static readonly LocalCacheBypass None = new([]);

    public bool Bypasses(string key)
    {
        foreach (var prefix in KeyPrefixes)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
