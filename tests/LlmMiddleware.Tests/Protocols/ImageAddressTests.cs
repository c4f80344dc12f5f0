using System.Net;
using LlmMiddleware.Gateway;
using LlmMiddleware.Upstream;
using Xunit;

namespace LlmMiddleware.Tests.Protocols;

/// <summary>Which addresses image downloads may connect to by default.</summary>
public sealed class ImageAddressTests
{
    [Theory]
    [InlineData("64:ff9b::a00:1", false)]      // NAT64 of 10.0.0.1
    [InlineData("64:ff9b::7f00:1", false)]     // NAT64 of 127.0.0.1
    [InlineData("64:ff9b::808:808", false)]    // NAT64 of a public address: still through the translator, refused
    [InlineData("::ffff:192.168.1.1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("::1", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("8.8.8.8", true)]
    [InlineData("2001:4860:4860::8888", true)]
    [InlineData("64:ff9b:1::a00:1", false)]    // the local-use NAT64 prefix (RFC 8215)
    [InlineData("64:ff9b:2::1", true)]
    public void PrivateTranslatedAndLocalAddressesAreRefused(string address, bool expected) =>
        Assert.Equal(expected, GuardedHttp.IsPublic(IPAddress.Parse(address)));
}
